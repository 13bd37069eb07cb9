/*
 * A C busy-spin ring across two processes, the reference the DESIGN compares shmesh's rings with ("at least half
 * of a C busy-spin ring"). Same protocol and layout choices as shmesh's and Agrona's many-to-one ring: 8-byte
 * aligned records with an 8-byte header (length, type), length published last with release semantics, a consumer
 * that zeroes what it consumed and moves its head once per batch, producers checking space against a cached head;
 * hot fields each in their own 128-byte slot; 1 MiB of data in a /dev/shm mapping. No blocking, no checks of
 * untrusted memory, no counters: the floor a managed ring pays for those.
 *
 *   cc -O2 -o shmring shmring.c && ./shmring mpsc|spsc SIZE MESSAGES
 *
 * mpsc: the producer claims with a CAS on the tail (as a many-to-one ring must); spsc: a plain release store.
 * The producer is a forked child pinned to CPU 0, the consumer this process pinned to CPU 1; the last 80 % of the
 * messages are timed. Prints one line in CrossProcessThroughput's format.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAPACITY (1u << 20)
#define TAIL 128
#define HEAD_CACHE 256
#define HEAD 384
#define DATA 768
#define HEADER 8
#define PADDING_TYPE (-1)

static inline int64_t load_acquire64(void *p) { return __atomic_load_n((int64_t *) p, __ATOMIC_ACQUIRE); }
static inline void store_release64(void *p, int64_t v) { __atomic_store_n((int64_t *) p, v, __ATOMIC_RELEASE); }
static inline void store_release32(void *p, int32_t v) { __atomic_store_n((int32_t *) p, v, __ATOMIC_RELEASE); }
static inline int64_t header(int32_t length, int32_t type) { return ((int64_t) type << 32) | (uint32_t) length; }
static inline uint32_t align8(uint32_t n) { return (n + 7) & ~7u; }

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("sched_setaffinity (running unpinned)");
    }
}

static int offer(uint8_t *base, int mpsc, const uint8_t *src, uint32_t length) {
    uint8_t *data = base + DATA;
    uint32_t record_length = HEADER + length, required = align8(record_length);
    int64_t head = load_acquire64(base + HEAD_CACHE), tail;
    uint32_t index, padding;
    for (;;) {
        tail = load_acquire64(base + TAIL);
        if ((int64_t) required > (int64_t) CAPACITY - (tail - head)) {
            head = load_acquire64(base + HEAD);
            if ((int64_t) required > (int64_t) CAPACITY - (tail - head)) {
                return 0;
            }
            store_release64(base + HEAD_CACHE, head);
        }
        index = (uint32_t) tail & (CAPACITY - 1);
        padding = 0;
        if (required > CAPACITY - index) {
            padding = CAPACITY - index;
            if ((int64_t) (required + padding) > (int64_t) CAPACITY - (tail - head)) {
                head = load_acquire64(base + HEAD);
                if ((int64_t) (required + padding) > (int64_t) CAPACITY - (tail - head)) {
                    return 0;
                }
                store_release64(base + HEAD_CACHE, head);
            }
        }
        if (!mpsc) {
            store_release64(base + TAIL, tail + padding + required);
            break;
        }
        if (__atomic_compare_exchange_n((int64_t *) (base + TAIL), &tail, tail + padding + required, 0,
                __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            break;
        }
    }
    if (padding != 0) {
        *(int32_t *) (data + index + 4) = PADDING_TYPE;
        store_release32(data + index, (int32_t) padding);
        index = 0;
    }
    *(int64_t *) (data + index) = header(-(int32_t) record_length, 1);
    memcpy(data + index + HEADER, src, length);
    store_release32(data + index, (int32_t) record_length);
    return 1;
}

static int poll_ring(uint8_t *base, int limit, uint64_t *checksum) {
    uint8_t *data = base + DATA;
    int64_t head = load_acquire64(base + HEAD);
    uint32_t head_index = (uint32_t) head & (CAPACITY - 1), contiguous = CAPACITY - head_index, bytes = 0;
    int count = 0;
    while (bytes < contiguous && count < limit) {
        uint32_t record = head_index + bytes;
        int64_t h = load_acquire64(data + record);
        int32_t length = (int32_t) h, type = (int32_t) (h >> 32);
        if (length <= 0) {
            break;
        }
        bytes += align8((uint32_t) length);
        if (type == PADDING_TYPE) {
            continue;
        }
        uint64_t first;
        memcpy(&first, data + record + HEADER, sizeof first);
        *checksum += first;
        count++;
    }
    if (bytes > 0) {
        memset(data + head_index, 0, bytes);
        store_release64(base + HEAD, head + bytes);
    }
    return count;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "mpsc") != 0 && strcmp(argv[1], "spsc") != 0)) {
        fprintf(stderr, "usage: %s mpsc|spsc SIZE MESSAGES\n", argv[0]);
        return 2;
    }
    int mpsc = strcmp(argv[1], "mpsc") == 0;
    uint32_t size = (uint32_t) atoi(argv[2]);
    long messages = atol(argv[3]);
    if (size < 8 || size > CAPACITY / 8 - HEADER || messages < 10) {
        fprintf(stderr, "SIZE must be in [8, %u], MESSAGES at least 10\n", CAPACITY / 8 - HEADER);
        return 2;
    }
    char name[64];
    snprintf(name, sizeof name, "/shmesh-bench-c-%d", getpid());
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, DATA + CAPACITY) != 0) {
        perror("shm_open/ftruncate");
        return 1;
    }
    uint8_t *base = mmap(NULL, DATA + CAPACITY, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    shm_unlink(name); /* the name goes now; both processes keep the mapping */
    close(fd);
    if (base == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        pin(0);
        uint8_t src[65536];
        memset(src, 0, sizeof src);
        for (long i = 0; i < messages; i++) {
            memcpy(src, &i, sizeof i);
            while (!offer(base, mpsc, src, size)) {
                __builtin_ia32_pause();
            }
        }
        _exit(0);
    }
    pin(1);
    const char *b = getenv("SHMRING_BACKOFF");
    int backoff = b != NULL ? atoi(b) : 1;
    long received = 0, warm = messages / 5, polls = 0;
    uint64_t checksum = 0;
    double start = 0;
    while (received < messages) {
        polls++;
        int n = poll_ring(base, 1024, &checksum);
        received += n;
        if (start == 0 && received >= warm) {
            start = now();
            warm = received;
        }
        if (n == 0) {
            for (int i = 0; i < backoff; i++) {
                __builtin_ia32_pause();
            }
        }
    }
    double seconds = now() - start, rate = (messages - warm) / seconds;
    waitpid(child, NULL, 0);
    uint64_t expected = (uint64_t) messages * (uint64_t) (messages - 1) / 2;
    printf("c-%s size=%u producers=1: %.2f M msgs/s, %.0f MB/s (%ld msgs timed; %.1f msgs per poll)%s\n", argv[1],
            size, rate / 1e6, rate * size / 1e6, messages - warm, (double) messages / polls,
            checksum == expected ? "" : " CHECKSUM MISMATCH");
    return checksum == expected ? 0 : 1;
}
