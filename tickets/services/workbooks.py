"""Reading an uploaded Excel workbook (.xlsx) safely: the people import and the holiday schedule."""
from __future__ import annotations

import io
import zipfile

from flask_babel import lazy_gettext as _l

from .errors import InvalidInput

UNREADABLE = _l("The file is not a readable Excel workbook (.xlsx). Save it as .xlsx and try again.")


def read_workbook(data: bytes, max_unzipped: int, read):
    """`read(workbook)` on the uploaded .xlsx, opened read-only; InvalidInput for anything unreadable.

    The unpacked size is checked before openpyxl sees the file, so a zip bomb never unpacks.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > max_unzipped:
                raise InvalidInput(_l("The workbook is too large once unpacked."))
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidInput:
        raise
    except Exception:  # openpyxl raises many kinds on a corrupt file; all mean the same to the user
        raise InvalidInput(UNREADABLE) from None
    try:
        return read(wb)
    except InvalidInput:
        raise
    except Exception:
        raise InvalidInput(UNREADABLE) from None
    finally:
        wb.close()
