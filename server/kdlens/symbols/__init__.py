"""Debug symbols read without a debugger: PDB files and the images they describe.

Everything here is pure Python so that kdlens can turn a raw address or
``module!function+0xoff`` into ``file.c:line`` on any operating system.
"""
