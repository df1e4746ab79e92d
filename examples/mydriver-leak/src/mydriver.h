/*
 * mydriver.h - declarations shared by the MyDriver sources.
 *
 * MyDriver is a small legacy (non-PnP) WDM driver. It exposes one control
 * device, \Device\MyDriver, that records a ring of recent I/O activity and
 * lets a user-mode tool start a capture, read the recorded events back and
 * stop the capture again.
 */

#pragma once

#include <ntddk.h>

/* Pool tags are stored little-endian: 'vrdm' shows up as "mdrv" in pool dumps. */
#define MYDRIVER_TAG            'vrdm'

#define MYDRIVER_DEVICE_NAME    L"\\Device\\MyDriver"
#define MYDRIVER_LINK_NAME      L"\\DosDevices\\MyDriver"

#define IOCTL_MYDRIVER_START_CAPTURE \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_MYDRIVER_STOP_CAPTURE \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* METHOD_NEITHER: the output buffer arrives as a raw user-mode address. */
#define IOCTL_MYDRIVER_READ_EVENTS \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_NEITHER, FILE_ANY_ACCESS)

#define MYDRIVER_RING_SIZE      256

#define MyTrace(_fmt, ...) \
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "MyDriver: " _fmt "\n", __VA_ARGS__)

typedef struct _MYDRIVER_EVENT {
    ULONG Sequence;
    USHORT MajorFunction;
    USHORT Flags;
    LARGE_INTEGER Time;
} MYDRIVER_EVENT, *PMYDRIVER_EVENT;

/* Ring of recent events; one nonpaged allocation of 0x1008 bytes. */
typedef struct _MYDRIVER_SNAPSHOT {
    ULONG Count;
    ULONG Next;
    MYDRIVER_EVENT Events[MYDRIVER_RING_SIZE];
} MYDRIVER_SNAPSHOT, *PMYDRIVER_SNAPSHOT;

C_ASSERT(sizeof(MYDRIVER_EVENT) == 0x10);
C_ASSERT(sizeof(MYDRIVER_SNAPSHOT) == 0x1008);

typedef struct _MYDRIVER_EXTENSION {
    PDEVICE_OBJECT Self;
    KSPIN_LOCK Lock;
    PMYDRIVER_SNAPSHOT Capture;     /* set by START_CAPTURE, cleared by STOP_CAPTURE */
    PIO_WORKITEM FlushItem;         /* created on the first open */
    LONG FlushQueued;
    ULONG Sequence;
    ULONG Dropped;
} MYDRIVER_EXTENSION, *PMYDRIVER_EXTENSION;

FORCEINLINE
NTSTATUS
CompleteRequest(
    _Inout_ PIRP Irp,
    _In_ NTSTATUS Status,
    _In_ ULONG_PTR Information
    )
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* driver.c */
DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD DriverUnload;
DRIVER_DISPATCH AllIRPDispatch;
DRIVER_DISPATCH NonPNPIRPDispatch;

/* handleioctl.c */
DRIVER_DISPATCH DeviceControlDispatch;

/* workitem.c */
NTSTATUS GetNecessaryObjects(_In_ PDEVICE_OBJECT DeviceObject);
VOID RecordEvent(_In_ PMYDRIVER_EXTENSION Ext, _In_ UCHAR MajorFunction);
IO_WORKITEM_ROUTINE LogFlushWorker;
