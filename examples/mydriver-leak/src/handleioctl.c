/*
 * handleioctl.c - IRP_MJ_DEVICE_CONTROL for the MyDriver control device.
 *
 * START_CAPTURE allocates the event ring, STOP_CAPTURE frees it and
 * READ_EVENTS copies the ring into the caller's (METHOD_NEITHER) buffer
 * through an MDL.
 */

#include "mydriver.h"

static ULONG
CopyEvents(
    _In_ PMYDRIVER_EXTENSION Ext,
    _Out_writes_bytes_(Length) PVOID Target,
    _In_ ULONG Length
    )
{
    PMYDRIVER_SNAPSHOT ring;
    PMYDRIVER_EVENT out = Target;
    ULONG wanted = Length / sizeof(MYDRIVER_EVENT);
    ULONG copied = 0;
    KIRQL irql;

    KeAcquireSpinLock(&Ext->Lock, &irql);
    ring = Ext->Capture;
    while (ring != NULL && copied < wanted && copied < ring->Count) {
        ULONG slot = (ring->Next - ring->Count + copied) % MYDRIVER_RING_SIZE;
        out[copied] = ring->Events[slot];
        copied++;
    }
    KeReleaseSpinLock(&Ext->Lock, irql);
    return copied * sizeof(MYDRIVER_EVENT);
}

NTSTATUS
DeviceControlDispatch(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    PMYDRIVER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    ULONG outLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG_PTR information = 0;
    PMYDRIVER_SNAPSHOT ring;
    PMDL mdl;
    PVOID target;
    KIRQL irql;

    switch (code) {
    case IOCTL_MYDRIVER_START_CAPTURE:
        if (ext->Capture != NULL) {
            status = STATUS_DEVICE_BUSY;
            break;
        }
        ring = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(MYDRIVER_SNAPSHOT), MYDRIVER_TAG);
        if (ring == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        RtlZeroMemory(ring, sizeof(*ring));
        KeAcquireSpinLock(&ext->Lock, &irql);
        ext->Capture = ring;
        KeReleaseSpinLock(&ext->Lock, irql);
        MyTrace("capture started, ring at %p", ring);
        break;

    case IOCTL_MYDRIVER_STOP_CAPTURE:
        KeAcquireSpinLock(&ext->Lock, &irql);
        ring = ext->Capture;
        ext->Capture = NULL;
        KeReleaseSpinLock(&ext->Lock, irql);
        if (ring != NULL) {
            ExFreePoolWithTag(ring, MYDRIVER_TAG);
        }
        break;

    case IOCTL_MYDRIVER_READ_EVENTS:
        if (ext->Capture == NULL) {
            status = STATUS_DEVICE_NOT_READY;
            break;
        }
        if (outLength < sizeof(MYDRIVER_EVENT)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        mdl = IoAllocateMdl(Irp->UserBuffer, outLength, FALSE, FALSE, NULL);
        if (mdl == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        __try {
            MmProbeAndLockPages(mdl, Irp->RequestorMode, IoWriteAccess);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            status = GetExceptionCode();
            MyTrace("IOCTL %08x: MmProbeAndLockPages raised %08x", code, status);
            break;
        }
        target = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority | MdlMappingNoExecute);
        if (target == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
        } else {
            information = CopyEvents(ext, target, outLength);
        }
        MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        break;

    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }

    return CompleteRequest(Irp, status, information);
}
