/*
 * queue.c - stand-in source for the kdlens end-to-end test.
 *
 * crash.log in the test workspace stops with bug check 0xD1 inside
 * RecordCompletion below: it writes a history table that lives in paged pool
 * while the queue's spin lock holds the processor at DISPATCH_LEVEL. The
 * log's stack annotations name the lines of this file; only they matter to
 * the test.
 */
#include <ntddk.h>

#define HISTORY_SLOTS 64

typedef struct _QUEUE_CONTEXT {
    KSPIN_LOCK Lock;
    LIST_ENTRY Pending;
    ULONG HistoryNext;
    /* allocated from PagedPool in QueueInitialize: the bug */
    ULONG_PTR *History;
} QUEUE_CONTEXT, *PQUEUE_CONTEXT;

NTSTATUS
QueueInitialize(PQUEUE_CONTEXT Queue)
{
    KeInitializeSpinLock(&Queue->Lock);
    InitializeListHead(&Queue->Pending);
    Queue->HistoryNext = 0;
    Queue->History = ExAllocatePool2(POOL_FLAG_PAGED, HISTORY_SLOTS * sizeof(ULONG_PTR), 'quqm');
    return Queue->History != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

static VOID
RecordCompletion(PQUEUE_CONTEXT Queue, PIRP Irp)
{
    ULONG Slot = Queue->HistoryNext++ % HISTORY_SLOTS;

    Queue->History[Slot] = Irp->IoStatus.Information;
}

VOID
QueueCompleteRequest(PQUEUE_CONTEXT Queue, PIRP Irp, NTSTATUS Status)
{
    KIRQL OldIrql;

    KeAcquireSpinLock(&Queue->Lock, &OldIrql);
    RecordCompletion(Queue, Irp);
    KeReleaseSpinLock(&Queue->Lock, OldIrql);

    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

NTSTATUS
QueueDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PQUEUE_CONTEXT Queue = (PQUEUE_CONTEXT)DeviceObject->DeviceExtension;

    Irp->IoStatus.Information = 0;
    QueueCompleteRequest(Queue, Irp, STATUS_SUCCESS);
    return STATUS_SUCCESS;
}
