"""Debug symbols read without a debugger: PDB files and the images they describe.

Everything here is pure Python so that kdlens can turn a raw address or
``module!function+0xoff`` into ``file.c:line`` on any operating system.

- ``pdb/``: the PDB reader; ``pe``: an image's identity (CodeView record);
- ``symbolpath``: ``_NT_SYMBOL_PATH`` as local folders and the servers the user trusts;
- ``symsrv`` and ``cab``: downloads from those servers (SymSrv layouts, compressed
  copies), validated before they are stored in the path's cache folder;
- ``store``: where a PDB or image sits in those folders;
- ``table`` and ``cache``: what is kept of a PDB, in memory and on disk
  (``KDLENS_CACHE_DIR`` moves the disk cache);
- ``loadbase``: where a module was loaded, from the addresses the log prints;
- ``resolver``: ``SymbolFiles``, the analysis's ``SymbolSource``.
"""
