/*
 * dirty.c: a freestanding multiboot (v1) guest kernel for ferry's lab.  It rewrites one word in
 * every page of a RAM region, forever, so that a live migration over a slow link cannot
 * converge without help.  It reports on COM1, so the serial log shows it kept running after a
 * migration (the pass counter goes on where it was).
 *
 * Command line (<os><cmdline>):  mib=N    size of the region (default 64; starts at 8 MiB)
 *                                 spin=N   delay loop between page writes (default 0)
 *                                 every=N  print "pass N" every N passes (default 256)
 *                                 passes=N halt after N passes (0 = never)
 */
typedef unsigned int u32;

#define MULTIBOOT_MAGIC 0x1BADB002u
#define MULTIBOOT_LOADED 0x2BADB002u

__attribute__((section(".multiboot"), used, aligned(4))) static const u32 header[3] = {
    MULTIBOOT_MAGIC, 0, (u32)(-MULTIBOOT_MAGIC)};

__asm__(".section .bss\n"
        ".align 16\n"
        "stack_lo: .skip 16384\n"
        "stack_hi:\n"
        ".section .text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov $stack_hi, %esp\n"
        "  push %ebx\n"
        "  push %eax\n"
        "  call kernel_main\n"
        "halt: cli\n"
        "  hlt\n"
        "  jmp halt\n");

void kernel_main(u32 magic, const u32 *info);

static void serial_put(char c)
{
    __asm__ volatile("outb %0, %1" ::"a"(c), "Nd"((unsigned short)0x3f8));
}

static void serial_print(const char *s)
{
    while (*s)
        serial_put(*s++);
}

static void serial_number(u32 v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        serial_put(digits[--n]);
}

/* Value of "key=N" in the command line, or @fallback. */
static u32 option(const char *cmdline, const char *key, u32 fallback)
{
    if (!cmdline)
        return fallback;
    for (const char *p = cmdline; *p; p++) {
        if (p != cmdline && p[-1] != ' ')
            continue;
        const char *k = key, *q = p;
        while (*k && *k == *q) {
            k++;
            q++;
        }
        if (*k || *q < '0' || *q > '9')
            continue;
        u32 v = 0;
        while (*q >= '0' && *q <= '9')
            v = v * 10 + (u32)(*q++ - '0');
        return v;
    }
    return fallback;
}

void kernel_main(u32 magic, const u32 *info)
{
    const char *cmdline = 0;
    u32 upper_kib = 63 * 1024;
    if (magic == MULTIBOOT_LOADED) {
        if (info[0] & 1u)
            upper_kib = info[2];
        if (info[0] & 4u)
            cmdline = (const char *)info[4];
    }
    u32 mib = option(cmdline, "mib=", 64);
    u32 spin = option(cmdline, "spin=", 0);
    u32 every = option(cmdline, "every=", 256);
    u32 passes = option(cmdline, "passes=", 0);
    u32 start = 8u << 20;
    u32 end = start + (mib << 20);
    u32 top = ((1u << 20) + (upper_kib << 10)) & ~0xfffu;
    if (end > top)
        end = top;
    if (every == 0)
        every = 256;

    serial_print("dirty: region ");
    serial_number(start >> 20);
    serial_print("-");
    serial_number(end >> 20);
    serial_print(" MiB\n");
    for (u32 pass = 1;; pass++) {
        for (u32 a = start; a < end; a += 4096) {
            *(volatile u32 *)a = pass ^ a;
            for (volatile u32 i = 0; i < spin; i++) {
            }
        }
        if (pass % every == 0) {
            serial_print("pass ");
            serial_number(pass);
            serial_print("\n");
        }
        if (passes && pass >= passes) {
            serial_print("halted after ");
            serial_number(pass);
            serial_print(" passes\n");
            return;
        }
    }
}
