/* CRC-32C (Castagnoli), the checksum of TFRecord and TensorBoard event files.
 *
 * Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF:
 * crc32c("123456789") = 0xE3069283.  zlib's crc32 uses another polynomial
 * (0xEDB88320) and gives different values, so it cannot stand in.
 *
 * Table-driven, eight bytes per step ("slicing by 8"): event records are
 * small, but a whole file is checked when a run resumes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/tfevents.h"

static uint32_t table[8][256];
static bool table_ready;

static void make_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xFF];
  /* Written before the flag; a second thread racing here writes the same values. */
  __atomic_store_n(&table_ready, true, __ATOMIC_RELEASE);
}

uint32_t dnn_crc32c_extend(uint32_t crc, const void *data, size_t n) {
  if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) make_table();
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lo = __builtin_bswap32(lo);
    hi = __builtin_bswap32(hi);
#endif
    lo ^= c;
    c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^
        table[4][lo >> 24] ^ table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^
        table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
  return ~c;
}

uint32_t dnn_crc32c(const void *data, size_t n) { return dnn_crc32c_extend(0, data, n); }

/* TensorFlow masks stored CRCs so that a CRC of data holding CRCs stays
 * well distributed: rotate right by 15 bits and add a constant. */
uint32_t dnn_crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
