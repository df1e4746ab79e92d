/*
 * handleioctl.c - stand-in source for the kdlens end-to-end test.
 *
 * The session log in the test workspace blames three leaked pool blocks on
 * lines 38, 50 and 72 of a file with this name on the build machine. Only the
 * line numbers matter to the test; the code is a plausible sketch of a WDM
 * dispatch routine that forgets to free what it allocates.
 */
#include <ntddk.h>

#define MYDRV_TAG 'vrdm'
#define IOCTL_MYDRV_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _MYDRV_REQUEST {
    ULONG Length;
    UCHAR Payload[1];
} MYDRV_REQUEST, *PMYDRV_REQUEST;

static NTSTATUS GetNecessaryObjects(PDEVICE_OBJECT DeviceObject);

NTSTATUS DeviceControlDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    ULONG inLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    PMYDRV_REQUEST copy = NULL;
    PMDL mdl = NULL;
    NTSTATUS status = STATUS_SUCCESS;

    UNREFERENCED_PARAMETER(DeviceObject);

    if (code != IOCTL_MYDRV_QUERY || inLength < sizeof(MYDRV_REQUEST)) {
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto complete;
    }

    /* A private copy of the request; nothing below ever frees it. */
    copy = (PMYDRV_REQUEST)ExAllocatePoolWithTag(NonPagedPoolNx, 0x1000, MYDRV_TAG);
    if (copy == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto complete;
    }
    RtlCopyMemory(copy, Irp->AssociatedIrp.SystemBuffer, sizeof(MYDRV_REQUEST));

    if (copy->Length == 0) {
        status = STATUS_INVALID_PARAMETER;
        goto complete;
    }
    /* Describes the caller's buffer; the MDL is never released either. */
    mdl = IoAllocateMdl(Irp->AssociatedIrp.SystemBuffer, inLength, FALSE, FALSE, NULL);
    if (mdl == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto complete;
    }
    MmBuildMdlForNonPagedPool(mdl);

    Irp->IoStatus.Information = 0;

complete:
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS GetNecessaryObjects(PDEVICE_OBJECT DeviceObject)
{
    PIO_WORKITEM item;
    NTSTATUS status = STATUS_SUCCESS;

    /* Queued work that the unload routine does not wait for or free. */
    KdPrint(("mydriver: queueing setup work\n"));
    item = IoAllocateWorkItem(DeviceObject);
    if (item == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }

    return status;
}

/*
 * The fixes, for the record: ExFreePoolWithTag(copy, MYDRV_TAG) before
 * completing the request, IoFreeMdl(mdl) once the transfer is done, and
 * IoFreeWorkItem(item) in the work routine or the unload path.
 */
