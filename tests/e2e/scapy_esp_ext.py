"""scapy_esp_ext - what scapy 2.5's IPsec (scapy.layers.ipsec) lacks for
the transforms `ip xfrm state add` takes, added to its own tables so that
SecurityAssociation builds the packets as it builds any other:

- "AES-NULL-GMAC": RFC 4543 ENCR_NULL_AUTH_AES_GMAC.  scapy 2.5 has no
  GMAC; the tag comes from python3-cryptography's AESGCM over an empty
  plaintext with SPI, [seq_hi,] seq, IV and the payload in clear as the AAD
  (RFC 4543 section 5, figures 6 and 7), nonce = salt || IV (section 3.1).
- hmac_algo(hash, bits): an HMAC with any truncation (scapy has one per
  hash: 96, 128, 192, 256) and keys of any length (RFC 2104).

Used by tests/unit/esp_gen_vectors.py and tests/e2e/espgen.py.
"""
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import aead
from cryptography.hazmat.primitives.hmac import HMAC
from scapy.layers import ipsec
from scapy.layers.ipsec import ESP, AuthAlgo, CryptAlgo

GMAC = "AES-NULL-GMAC"
_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256,
           "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class _Gmac(CryptAlgo):
    """Authentication only: the payload stays in clear, all of it is AAD."""

    def encrypt(self, sa, esp, key, icv_size=None, esn_en=False, esn=0):
        data = esp.data_for_encryption()
        if esn_en:
            hdr = struct.pack("!LLL", esp.spi, esn, esp.seq)
        else:
            hdr = struct.pack("!LL", esp.spi, esp.seq)
        # AESGCM.encrypt of an empty plaintext returns just the 16-byte tag
        tag = aead.AESGCM(key).encrypt(sa.crypt_salt + esp.iv, b"", hdr + esp.iv + data)
        return ESP(spi=esp.spi, seq=esp.seq, data=esp.iv + data + tag)


if GMAC not in ipsec.CRYPT_ALGOS:
    ipsec.CRYPT_ALGOS[GMAC] = _Gmac(GMAC, cipher=aead.AESGCM, mode=None,
                                   key_size=(16, 24, 32), salt_size=4,
                                   block_size=1, iv_size=8, icv_size=16)


def hmac_algo(hash_name, bits):
    """The name of scapy's auth algorithm for HMAC-<hash> truncated to BITS
    (a multiple of 8), registered on first use."""
    name = "HMAC-%s-%d" % (hash_name.upper(), bits)
    if name not in ipsec.AUTH_ALGOS:
        ipsec.AUTH_ALGOS[name] = AuthAlgo(name, mac=HMAC, digestmod=_HASHES[hash_name],
                                          icv_size=bits // 8)
    return name
