"""CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0x0000.

Check value: ``crc16(b"123456789") == 0x29B1``.
"""

from __future__ import annotations

import binascii

__all__ = ["CRC_CHECK_VALUE", "crc16"]

CRC_INIT = 0xFFFF
CRC_CHECK_VALUE = 0x29B1


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/CCITT-FALSE of ``data``.

    ``binascii.crc_hqx`` is the same MSB-first 0x1021 CRC with a caller-chosen
    initial value; starting it at 0xFFFF gives the CCITT-FALSE variant.

    Args:
        data: Bytes to checksum.
        crc: Running value, to continue a CRC over several pieces.

    Returns:
        The 16-bit CRC.
    """
    return binascii.crc_hqx(data, crc)
