/*
 * workitem.c - the deferred side of the recorder.
 *
 * RecordEvent can run at DISPATCH_LEVEL, where DbgPrintEx output is best
 * kept short; when the ring overflows it queues LogFlushWorker, which
 * reports the number of dropped events at PASSIVE_LEVEL. The work item it
 * uses is created once, on the first open of the device.
 */

#include "mydriver.h"

NTSTATUS
GetNecessaryObjects(
    _In_ PDEVICE_OBJECT DeviceObject
    )
{
    PMYDRIVER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_WORKITEM item;

    if (ext->FlushItem != NULL) {
        return STATUS_SUCCESS;
    }
    item = IoAllocateWorkItem(DeviceObject);
    if (item == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (InterlockedCompareExchangePointer((PVOID volatile *)&ext->FlushItem, item, NULL) != NULL) {
        /* Another open created it first. */
        IoFreeWorkItem(item);
    }
    return STATUS_SUCCESS;
}

VOID
LogFlushWorker(
    _In_ PDEVICE_OBJECT DeviceObject,
    _In_opt_ PVOID Context
    )
{
    PMYDRIVER_EXTENSION ext = Context;

    UNREFERENCED_PARAMETER(DeviceObject);

    MyTrace("ring overflow, %lu events dropped so far", ext->Dropped);
    InterlockedExchange(&ext->FlushQueued, 0);
}

VOID
RecordEvent(
    _In_ PMYDRIVER_EXTENSION Ext,
    _In_ UCHAR MajorFunction
    )
{
    PMYDRIVER_SNAPSHOT ring;
    PMYDRIVER_EVENT slot;
    BOOLEAN overflow = FALSE;
    KIRQL irql;

    KeAcquireSpinLock(&Ext->Lock, &irql);
    ring = Ext->Capture;
    if (ring != NULL) {
        slot = &ring->Events[ring->Next % MYDRIVER_RING_SIZE];
        slot->Sequence = ++Ext->Sequence;
        slot->MajorFunction = MajorFunction;
        slot->Flags = 0;
        KeQuerySystemTime(&slot->Time);
        ring->Next++;
        if (ring->Count < MYDRIVER_RING_SIZE) {
            ring->Count++;
        } else {
            Ext->Dropped++;
            overflow = TRUE;
        }
    }
    KeReleaseSpinLock(&Ext->Lock, irql);

    if (overflow && Ext->FlushItem != NULL && InterlockedExchange(&Ext->FlushQueued, 1) == 0) {
        IoQueueWorkItem(Ext->FlushItem, LogFlushWorker, DelayedWorkQueue, Ext);
    }
}
