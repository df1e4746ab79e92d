/*
 * ntddk.h - a stand-in for the WDK header, with only what MyDriver uses.
 *
 * It lets build.sh compile the example with clang on any OS, for 32-bit x86
 * (the target of the session in kd-session.log). Declarations follow the
 * WDK's names and calling conventions; structures keep only the fields the
 * driver touches, so this is no header to build a real driver with.
 */

#pragma once

/* --- SAL annotations: documentation only here */
#define _In_
#define _In_opt_
#define _Inout_
#define _Out_writes_bytes_(size)

/* --- basic types (x86, compiled with stdcall as the default convention like the WDK's /Gz) */
#define VOID void
#define NTAPI __stdcall
#define FASTCALL __fastcall
#define FORCEINLINE __forceinline
#define NTKERNELAPI __declspec(dllimport)
#define NTHALAPI __declspec(dllimport)
#define NULL ((void *)0)
#define FALSE 0
#define TRUE 1
#define C_ASSERT(e) typedef char __C_ASSERT__[(e) ? 1 : -1]
#define UNREFERENCED_PARAMETER(p) (void)(p)

typedef unsigned char UCHAR, BOOLEAN, KIRQL, *PKIRQL;
typedef char CCHAR;
typedef unsigned short USHORT;
typedef unsigned short WCHAR, *PWCH;
typedef long LONG, NTSTATUS;
typedef unsigned long ULONG, ULONG_PTR, KSPIN_LOCK, *PKSPIN_LOCK;
typedef void *PVOID;
typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    long long QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
#define RTL_CONSTANT_STRING(s) { sizeof(s) - sizeof((s)[0]), sizeof(s), (PWCH)(s) }

#define NT_SUCCESS(status) ((NTSTATUS)(status) >= 0)
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BBL)
#define STATUS_INVALID_DEVICE_REQUEST ((NTSTATUS)0xC0000010L)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009AL)
#define STATUS_DEVICE_BUSY ((NTSTATUS)0x80000011L)
#define STATUS_DEVICE_NOT_READY ((NTSTATUS)0xC00000A3L)
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023L)

/* --- I/O manager */
#define IRP_MJ_CREATE 0x00
#define IRP_MJ_CLOSE 0x02
#define IRP_MJ_DEVICE_CONTROL 0x0e
#define IRP_MJ_CLEANUP 0x12
#define IRP_MJ_POWER 0x16
#define IRP_MJ_PNP 0x1b
#define IRP_MJ_MAXIMUM_FUNCTION 0x1b

#define FILE_DEVICE_UNKNOWN 0x00000022
#define FILE_DEVICE_SECURE_OPEN 0x00000100
#define DO_DEVICE_INITIALIZING 0x00000080
#define METHOD_BUFFERED 0
#define METHOD_NEITHER 3
#define FILE_ANY_ACCESS 0
#define CTL_CODE(type, function, method, access) \
    (((type) << 16) | ((access) << 14) | ((function) << 2) | (method))
#define IO_NO_INCREMENT 0

typedef enum _MODE { KernelMode, UserMode } KPROCESSOR_MODE;

typedef struct _IO_STATUS_BLOCK {
    NTSTATUS Status;
    ULONG_PTR Information;
} IO_STATUS_BLOCK;

typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    union {
        struct {
            ULONG OutputBufferLength;
            ULONG InputBufferLength;
            ULONG IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
    } Parameters;
} IO_STACK_LOCATION, *PIO_STACK_LOCATION;

typedef struct _IRP {
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    PVOID UserBuffer;
    PIO_STACK_LOCATION CurrentStackLocation;
} IRP, *PIRP;
#define IoGetCurrentIrpStackLocation(irp) ((irp)->CurrentStackLocation)

typedef struct _DEVICE_OBJECT {
    ULONG Flags;
    PVOID DeviceExtension;
} DEVICE_OBJECT, *PDEVICE_OBJECT;

struct _DRIVER_OBJECT;
typedef NTSTATUS DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject,
                                   PUNICODE_STRING RegistryPath);
typedef VOID DRIVER_UNLOAD(struct _DRIVER_OBJECT *DriverObject);
typedef NTSTATUS DRIVER_DISPATCH(PDEVICE_OBJECT DeviceObject, PIRP Irp);

typedef struct _DRIVER_OBJECT {
    PDEVICE_OBJECT DeviceObject;
    DRIVER_UNLOAD *DriverUnload;
    DRIVER_DISPATCH *MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
} DRIVER_OBJECT, *PDRIVER_OBJECT;

NTKERNELAPI NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG ExtensionSize,
                                    PUNICODE_STRING Name, ULONG Type, ULONG Characteristics,
                                    BOOLEAN Exclusive, PDEVICE_OBJECT *Device);
NTKERNELAPI VOID IoDeleteDevice(PDEVICE_OBJECT Device);
NTKERNELAPI NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING Link, PUNICODE_STRING Target);
NTKERNELAPI NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING Link);
NTKERNELAPI VOID FASTCALL IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost);
#define IoCompleteRequest(irp, boost) IofCompleteRequest(irp, boost)

typedef struct _IO_WORKITEM *PIO_WORKITEM;
typedef VOID IO_WORKITEM_ROUTINE(PDEVICE_OBJECT DeviceObject, PVOID Context);
typedef enum _WORK_QUEUE_TYPE { CriticalWorkQueue, DelayedWorkQueue } WORK_QUEUE_TYPE;
NTKERNELAPI PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT Device);
NTKERNELAPI VOID IoFreeWorkItem(PIO_WORKITEM Item);
NTKERNELAPI VOID IoQueueWorkItem(PIO_WORKITEM Item, IO_WORKITEM_ROUTINE *Routine,
                                 WORK_QUEUE_TYPE Queue, PVOID Context);

/* --- memory */
typedef enum _POOL_TYPE { NonPagedPool = 0, NonPagedPoolNx = 512 } POOL_TYPE;
NTKERNELAPI PVOID ExAllocatePoolWithTag(POOL_TYPE Type, ULONG Bytes, ULONG Tag);
NTKERNELAPI VOID ExFreePoolWithTag(PVOID Block, ULONG Tag);

typedef struct _MDL *PMDL;
typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;
typedef enum _MEMORY_CACHING_TYPE { MmNonCached, MmCached } MEMORY_CACHING_TYPE;
#define NormalPagePriority 16
#define MdlMappingNoExecute 0x40000000
NTKERNELAPI PMDL IoAllocateMdl(PVOID Address, ULONG Length, BOOLEAN Secondary,
                               BOOLEAN ChargeQuota, PIRP Irp);
NTKERNELAPI VOID IoFreeMdl(PMDL Mdl);
NTKERNELAPI VOID MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE Mode, LOCK_OPERATION Operation);
NTKERNELAPI VOID MmUnlockPages(PMDL Mdl);
NTKERNELAPI PVOID MmMapLockedPagesSpecifyCache(PMDL Mdl, KPROCESSOR_MODE Mode,
                                               MEMORY_CACHING_TYPE Cache, PVOID Address,
                                               ULONG BugCheckOnFailure, ULONG Priority);
/* The real macro first checks whether the MDL is already mapped. */
#define MmGetSystemAddressForMdlSafe(mdl, priority) \
    MmMapLockedPagesSpecifyCache((mdl), KernelMode, MmCached, NULL, FALSE, (priority))

void *__cdecl memset(void *Target, int Value, unsigned int Count);
#define RtlZeroMemory(target, length) memset((target), 0, (length))

/* --- synchronisation (x86: the spin lock routines live in the HAL) */
NTHALAPI KIRQL FASTCALL KfAcquireSpinLock(PKSPIN_LOCK SpinLock);
NTHALAPI VOID FASTCALL KfReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
#define KeAcquireSpinLock(lock, oldirql) (*(oldirql) = KfAcquireSpinLock(lock))
#define KeReleaseSpinLock(lock, newirql) KfReleaseSpinLock((lock), (newirql))
NTKERNELAPI VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID KeQuerySystemTime(PLARGE_INTEGER Time);

long __cdecl _InterlockedExchange(long volatile *Target, long Value);
long __cdecl _InterlockedCompareExchange(long volatile *Target, long Exchange, long Comparand);
#define InterlockedExchange _InterlockedExchange
#define InterlockedCompareExchangePointer(target, exchange, comparand)          \
    ((PVOID)_InterlockedCompareExchange((long volatile *)(target), (long)(exchange), \
                                        (long)(comparand)))

/* --- structured exception handling */
#define EXCEPTION_EXECUTE_HANDLER 1
unsigned long __cdecl _exception_code(void);
#define GetExceptionCode _exception_code

/* --- debug output */
#define DPFLTR_IHVDRIVER_ID 77
#define DPFLTR_ERROR_LEVEL 0
NTKERNELAPI ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, const char *Format, ...);
