#!/usr/bin/env bash
# Rebuild the example's symbol store: MyDriver.sys and MyDriver.pdb for 32-bit
# x86, compiled from ../src with clang against the stand-in ntddk.h here, filed
# under ../symbols the way a symbol server lays them out:
#   symbols/MyDriver.pdb/<GUID><AGE>/MyDriver.pdb
#   symbols/MyDriver.sys/<TIMESTAMP><SIZEOFIMAGE>/MyDriver.sys
#
# Needs Debian's clang-14, lld-14 and llvm-14. As in tests/fixtures/pdb/build.sh,
# clang runs in -cc1 mode and lld-link from a scratch directory with relative
# inputs, so that the binaries record the build paths of the session
# (d:\work\mydriver\src\...) and no directory of this machine; /Brepro makes
# the output reproducible. A debug build (-O0, frame pointers), like the
# Win8.1Debug build the session loaded.
#
# A rebuild moves the code: then run make_logs.py (next to this script) to
# rewrite the addresses of the session logs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
example="$(dirname "$here")"
srcdir='d:\work\mydriver\src'
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cd "$scratch"
ln -s "$(command -v lld-link-14)" lld-link
ln -s "$(command -v clang-14)" clang-14
cp "$example"/src/*.c "$example"/src/*.h "$here"/ntddk.h "$here"/*.def .

llvm-dlltool-14 -m i386 -k -d ntoskrnl.def -l ntoskrnl.lib
llvm-dlltool-14 -m i386 -k -d hal.def -l hal.lib
objs=()
for f in driver.c handleioctl.c workitem.c; do
    ./clang-14 -cc1 -triple i686-pc-windows-msvc19.20.0 -emit-obj -O0 \
        -gcodeview -debug-info-kind=constructor -gno-column-info \
        -ffreestanding -fms-extensions -fms-compatibility \
        -fms-compatibility-version=19.20 -fdefault-calling-conv=stdcall \
        -mframe-pointer=all -fdebug-compilation-dir="$srcdir" -I . \
        -main-file-name "$f" -x c -o "${f%.c}.obj" "$f"
    objs+=("${f%.c}.obj")
done
./lld-link /nologo /debug /driver /subsystem:native /entry:DriverEntry \
    /nodefaultlib /machine:x86 /Brepro /safeseh:no \
    /pdbaltpath:MyDriver.pdb "/pdbsourcepath:$srcdir" \
    /out:MyDriver.sys /pdb:MyDriver.pdb "${objs[@]}" ntoskrnl.lib hal.lib

# The store keys: GUID and age of the PDB, time stamp and image size of the image.
guid="$(llvm-pdbutil-14 dump -summary MyDriver.pdb | sed -n 's/^ *GUID: {\(.*\)}$/\1/p' | tr -d '-')"
age="$(llvm-pdbutil-14 dump -summary MyDriver.pdb | sed -n 's/^ *Age: \([0-9]*\)$/\1/p')"
stamp="$(llvm-readobj-14 --file-headers MyDriver.sys | sed -n 's/^ *TimeDateStamp: .*(0x\([0-9A-Fa-f]*\))$/\1/p')"
size="$(llvm-readobj-14 --file-headers MyDriver.sys | sed -n 's/^ *SizeOfImage: \([0-9]*\)$/\1/p')"
pdbkey="$(printf '%s%X' "${guid^^}" "$age")"
syskey="$(printf '%08X%x' "0x$stamp" "$size")"

rm -rf "$example/symbols"
mkdir -p "$example/symbols/MyDriver.pdb/$pdbkey" "$example/symbols/MyDriver.sys/$syskey"
cp MyDriver.pdb "$example/symbols/MyDriver.pdb/$pdbkey/"
cp MyDriver.sys "$example/symbols/MyDriver.sys/$syskey/"

# No path of this machine may end up in what we commit.
# (The session's own build path, d:\work\..., is expected; a bare /work/ is not.)
if grep -l -a -E "$scratch|$example|/usr/|/tmp/|(^|[^:])/work/|/home/|/root/" \
    "$example"/symbols/*/*/*; then
    echo "build.sh: a local path leaked into the binaries above" >&2
    exit 1
fi
find "$example/symbols" -type f -exec ls -l {} +
