/*
 * frame_driver.c - test driver for edgewatch_frame.c (not part of the firmware copy).
 *
 * Reads commands from stdin, one per line, and answers on stdout:
 *   E heartbeat <seq> <uptime>                  -> frame hex, or "ERR arg"
 *   E samples <seq> <ch> <stype> <count> <v>... (int16 decimal, float32 as 8 hex bits)
 *   E label <seq> <label> <confbits>   |   E score <seq> <scorebits> <thrbits>
 *   E log <seq> <level> <hex|->        |   E config <seq> <n> (<keyhex|-> <valhex|->)...
 *   C <hex|->  CRC-16 of the bytes, 4 hex digits
 *   B <hex|->  COBS encoding of the bytes, hex (no delimiter)
 *   U <hex|->  COBS decoding of the bytes, hex, or "ERR cobs"
 *   D <hex|->  feed the bytes through a fresh ew_reader; one line per completed
 *              frame ("OK <message>" in the format above, "ERR <kind>"), then "END".
 * Floats print as 8 hex bits of binary32, or "nan" for any NaN.
 * Built by tests/test_frame_c.py with gcc -std=c99 -Wall -Wextra -Werror -pedantic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgewatch_frame.h"

static char line[1 << 21];
static uint8_t bytes[1 << 20];
static uint8_t wire[EW_MAX_WIRE];
static uint8_t scratch[(1 << 20) + (1 << 13)];

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    unsigned int b;
    if (strcmp(hex, "-") == 0) {
        return 0;
    }
    while (hex[0] && hex[1] && sscanf(hex, "%2x", &b) == 1) {
        out[n++] = (uint8_t)b;
        hex += 2;
    }
    return n;
}

static void put_hex(const uint8_t *data, size_t len)
{
    size_t i;
    if (len == 0u) {
        fputs(" -", stdout);
        return;
    }
    putchar(' ');
    for (i = 0; i < len; i++) {
        printf("%02x", data[i]);
    }
}

static float bits_f32(const char *tok)
{
    uint32_t u = (uint32_t)strtoul(tok, NULL, 16);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void put_f32(float f)
{
    uint32_t u;
    if (f != f) {
        fputs(" nan", stdout);
        return;
    }
    memcpy(&u, &f, sizeof u);
    printf(" %08lx", (unsigned long)u);
}

static size_t encode_samples(uint16_t seq, char **tok)
{
    static int16_t i16[EW_MAX_PAYLOAD];
    static float f32[EW_MAX_PAYLOAD];
    unsigned ch = (unsigned)atoi(tok[0]), st = (unsigned)atoi(tok[1]), count = (unsigned)atoi(tok[2]);
    size_t i, n = (size_t)ch * count;
    for (i = 0; i < n && i < EW_MAX_PAYLOAD; i++) {
        if (st == EW_SAMPLE_INT16) {
            i16[i] = (int16_t)atoi(tok[3 + i]);
        } else {
            f32[i] = bits_f32(tok[3 + i]);
        }
    }
    if (st == EW_SAMPLE_INT16) {
        return ew_encode_samples_i16(seq, (uint8_t)ch, (uint16_t)count, i16, wire, sizeof wire);
    }
    return ew_encode_samples_f32(seq, (uint8_t)ch, (uint16_t)count, f32, wire, sizeof wire);
}

static size_t encode_config(uint16_t seq, char **tok)
{
    static ew_config_entry entries[255];
    static uint8_t text[2 * 255][255];
    unsigned i, n = (unsigned)atoi(tok[0]);
    for (i = 0; i < n && i < 255u; i++) {
        entries[i].key_len = (uint8_t)unhex(tok[1 + 2 * i], text[2 * i]);
        entries[i].key = (const char *)text[2 * i];
        entries[i].value_len = (uint8_t)unhex(tok[2 + 2 * i], text[2 * i + 1]);
        entries[i].value = (const char *)text[2 * i + 1];
    }
    return ew_encode_config(seq, entries, (uint8_t)n, wire, sizeof wire);
}

static void encode(char **tok)
{
    uint16_t seq = (uint16_t)strtoul(tok[1], NULL, 10);
    size_t n = 0, len;
    if (strcmp(tok[0], "heartbeat") == 0) {
        n = ew_encode_heartbeat(seq, (uint32_t)strtoul(tok[2], NULL, 10), wire, sizeof wire);
    } else if (strcmp(tok[0], "samples") == 0) {
        n = encode_samples(seq, tok + 2);
    } else if (strcmp(tok[0], "label") == 0) {
        n = ew_encode_label(seq, (uint16_t)atoi(tok[2]), bits_f32(tok[3]), wire, sizeof wire);
    } else if (strcmp(tok[0], "score") == 0) {
        n = ew_encode_score(seq, bits_f32(tok[2]), bits_f32(tok[3]), wire, sizeof wire);
    } else if (strcmp(tok[0], "log") == 0) {
        len = unhex(tok[3], bytes);
        n = ew_encode_log(seq, (uint8_t)atoi(tok[2]), (const char *)bytes, len, wire, sizeof wire);
    } else if (strcmp(tok[0], "config") == 0) {
        n = encode_config(seq, tok + 2);
    }
    if (n == 0u) {
        puts("ERR arg");
        return;
    }
    for (len = 0; len < n; len++) {
        printf("%02x", wire[len]);
    }
    putchar('\n');
}

static void print_samples(const ew_frame *f)
{
    ew_samples s;
    size_t i, n;
    ew_get_samples(f, &s);
    n = (size_t)s.count * s.channels;
    printf(" samples %u %u %u %u", f->seq, s.channels, s.sample_type, s.count);
    for (i = 0; i < n; i++) {
        if (s.sample_type == EW_SAMPLE_INT16) {
            printf(" %d", ew_sample_i16(&s, i));
        } else {
            put_f32(ew_sample_f32(&s, i));
        }
    }
}

static void print_other(const ew_frame *f)
{
    ew_result r;
    ew_log l;
    ew_config_iter it;
    ew_config_entry e;
    uint32_t up;
    if (ew_get_result(f, &r) == EW_OK && r.kind == EW_RESULT_LABEL) {
        printf(" label %u %u", f->seq, r.label);
        put_f32(r.confidence);
    } else if (ew_get_result(f, &r) == EW_OK) {
        printf(" score %u", f->seq);
        put_f32(r.score);
        put_f32(r.threshold);
    } else if (ew_get_heartbeat(f, &up) == EW_OK) {
        printf(" heartbeat %u %lu", f->seq, (unsigned long)up);
    } else if (ew_get_log(f, &l) == EW_OK) {
        printf(" log %u %u", f->seq, l.level);
        put_hex((const uint8_t *)l.text, l.len);
    } else if (ew_get_config(f, &it) == EW_OK) {
        printf(" config %u %u", f->seq, it.remaining);
        while (ew_config_next(&it, &e)) {
            put_hex((const uint8_t *)e.key, e.key_len);
            put_hex((const uint8_t *)e.value, e.value_len);
        }
    }
}

static const char *status_name(int status)
{
    switch (status) {
    case EW_ERR_COBS: return "cobs";
    case EW_ERR_LENGTH: return "length";
    case EW_ERR_OVERSIZE: return "oversize";
    case EW_ERR_CRC: return "crc";
    case EW_ERR_VERSION: return "version";
    case EW_ERR_TYPE: return "type";
    case EW_ERR_FORMAT: return "format";
    default: return "unexpected";
    }
}

static void decode(const char *hex)
{
    static ew_reader reader;
    ew_frame frame;
    size_t i, n = unhex(hex, bytes);
    ew_reader_init(&reader);
    for (i = 0; i < n; i++) {
        int status = ew_reader_push(&reader, bytes[i], &frame);
        if (status == EW_OK) {
            fputs("OK", stdout);
            if (frame.type == EW_MSG_SAMPLES) {
                print_samples(&frame);
            } else {
                print_other(&frame);
            }
            putchar('\n');
        } else if (status != EW_PENDING) {
            printf("ERR %s\n", status_name(status));
        }
    }
    puts("END");
}

static void codec_tools(char op, const char *hex)
{
    size_t i, n = unhex(hex, bytes), len = 0;
    if (op == 'C') {
        printf("%04x\n", ew_crc16(0xFFFFu, bytes, n));
        return;
    }
    if (op == 'B') {
        len = ew_cobs_encode(bytes, n, scratch);
    } else if (ew_cobs_decode(bytes, n, scratch, &len) != EW_OK) {
        puts("ERR cobs");
        return;
    }
    for (i = 0; i < len; i++) {
        printf("%02x", scratch[i]);
    }
    putchar('\n');
}

int main(void)
{
    static char *tok[EW_MAX_PAYLOAD + 8];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = 0;
        char *t = strtok(line, " \r\n");
        while (t != NULL && n < sizeof tok / sizeof tok[0] - 1u) {
            tok[n++] = t;
            t = strtok(NULL, " \r\n");
        }
        tok[n] = NULL;
        if (n >= 2 && (strcmp(tok[0], "C") == 0 || strcmp(tok[0], "B") == 0 || strcmp(tok[0], "U") == 0)) {
            codec_tools(tok[0][0], tok[1]);
        } else if (n >= 2 && strcmp(tok[0], "D") == 0) {
            decode(tok[1]);
        } else if (n >= 3 && strcmp(tok[0], "E") == 0) {
            encode(tok + 1);
        } else {
            puts("ERR usage");
        }
        fflush(stdout);
    }
    return 0;
}
