/*
 * driver.c - load, unload and IRP routing for MyDriver.
 *
 * Every major function points at AllIRPDispatch. A legacy device has no PnP
 * or power state of its own, so those IRPs are refused there and everything
 * else goes on to NonPNPIRPDispatch.
 */

#include "mydriver.h"

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#endif

static UNICODE_STRING g_LinkName = RTL_CONSTANT_STRING(MYDRIVER_LINK_NAME);

VOID
DriverUnload(
    _In_ PDRIVER_OBJECT DriverObject
    )
{
    PDEVICE_OBJECT device = DriverObject->DeviceObject;

    MyTrace("unloading");

    IoDeleteSymbolicLink(&g_LinkName);
    if (device != NULL) {
        IoDeleteDevice(device);
    }
}

NTSTATUS
AllIRPDispatch(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

    if (stack->MajorFunction == IRP_MJ_PNP || stack->MajorFunction == IRP_MJ_POWER) {
        return CompleteRequest(Irp, STATUS_NOT_SUPPORTED, 0);
    }
    return NonPNPIRPDispatch(DeviceObject, Irp);
}

NTSTATUS
NonPNPIRPDispatch(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    PMYDRIVER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    RecordEvent(ext, stack->MajorFunction);

    switch (stack->MajorFunction) {
    case IRP_MJ_DEVICE_CONTROL:
        return DeviceControlDispatch(DeviceObject, Irp);

    case IRP_MJ_CREATE:
        status = GetNecessaryObjects(DeviceObject);
        return CompleteRequest(Irp, status, 0);

    case IRP_MJ_CLEANUP:
    case IRP_MJ_CLOSE:
        return CompleteRequest(Irp, STATUS_SUCCESS, 0);

    default:
        return CompleteRequest(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

NTSTATUS
DriverEntry(
    _In_ PDRIVER_OBJECT DriverObject,
    _In_ PUNICODE_STRING RegistryPath
    )
{
    UNICODE_STRING deviceName = RTL_CONSTANT_STRING(MYDRIVER_DEVICE_NAME);
    PDEVICE_OBJECT device = NULL;
    PMYDRIVER_EXTENSION ext;
    NTSTATUS status;
    ULONG i;

    UNREFERENCED_PARAMETER(RegistryPath);

    status = IoCreateDevice(DriverObject, sizeof(MYDRIVER_EXTENSION), &deviceName,
                            FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &device);
    if (!NT_SUCCESS(status)) {
        MyTrace("IoCreateDevice failed %08x", status);
        return status;
    }

    ext = device->DeviceExtension;
    RtlZeroMemory(ext, sizeof(*ext));
    ext->Self = device;
    KeInitializeSpinLock(&ext->Lock);

    status = IoCreateSymbolicLink(&g_LinkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        MyTrace("IoCreateSymbolicLink failed %08x", status);
        IoDeleteDevice(device);
        return status;
    }

    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        DriverObject->MajorFunction[i] = AllIRPDispatch;
    }
    DriverObject->DriverUnload = DriverUnload;
    device->Flags &= ~DO_DEVICE_INITIALIZING;

    MyTrace("loaded, device extension %p", ext);
    return STATUS_SUCCESS;
}
