"""Exports: annotated bibliographies in CSL styles, record files, PRISMA, backups."""
