/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SNP domain XML through libvirt's own QEMU command-line generator
 * (virConnectDomainXMLToNative, "qemu-argv"): the QEMU arguments must carry
 * the sev-snp-guest object with the plan's policy, host-data, kernel-hashes,
 * id-block/id-auth, cbitpos and reducedPhysBits, the firmware as one ROM
 * (-bios, no pflash), the vsock device and no network device.
 *
 * How, on a host without SEV-SNP: libvirt's QEMU driver refuses sev-snp
 * unless QEMU's capabilities carry the 'sev-snp-guest' flag, which libvirt
 * clears after QEMU's query-sev-capabilities fails on a host without SEV.
 * libvirt's test driver cannot generate QEMU arguments at all, so this test
 * runs the real QEMU driver *embedded* in this process
 * (qemu:///embed?root=DIR: private config, cache and state under DIR; no
 * daemon; the shared libvirtd is not touched): a first process lets libvirt
 * probe the installed QEMU into DIR's capability cache; this test then adds
 * that one flag to the cached capabilities (nothing else) and a second
 * process generates the arguments from the patched cache. Everything else -
 * the XML parser, validation, the command-line builder - is libvirt 11's
 * own code, unchanged. The process is pinned to one CPU because libvirt
 * re-probes (dropping the patch) when the host CPUID it sees differs from
 * the cached one, and the APIC ID in CPUID differs between CPUs.
 *
 * Usage: test-plan-qemu-argv GUEST_IMAGE_DIR
 */
#include <glob.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "image.h"
#include "job.h"
#include "measure.h"
#include "plan.h"

#define JOB_TEXT                                                                                          \
	"{\"api_version\": \"snpbuild/v1\", \"name\": \"argv\", \"source\": {\"path\": \"src\"},"          \
	" \"steps\": [{\"run\": \"make\"}], \"artifacts\": [\"out\"],"                                     \
	" \"resources\": {\"vcpus\": 2, \"memory_mib\": 1024}, \"tee\": \"snp\"}"

static char root[] = "/tmp/snpbuild-argv-XXXXXX";
static int failures;

static void check(bool ok, const char *fmt, ...) _printf_(2, 3);
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", ok ? "ok" : "FAIL");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (!ok)
		failures++;
}

static _Noreturn void die(const char *fmt, ...) _printf_(1, 2);
static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static virConnectPtr open_embedded(void)
{
	char uri[256];
	virConnectPtr c;

	snprintf(uri, sizeof(uri), "qemu:///embed?root=%s/root", root);
	virSetErrorFunc(NULL, quiet);
	if (virEventRegisterDefaultImpl() < 0)
		die("libvirt event loop: %s", virGetLastErrorMessage());
	c = virConnectOpen(uri);
	if (!c)
		die("%s: %s", uri, virGetLastErrorMessage());
	return c;
}

static bool caps_offer_snp(virConnectPtr c)
{
	_cleanup_free_ char *caps = virConnectGetDomainCapabilities(c, NULL, "x86_64", "q35", "kvm", 0);
	if (!caps)
		die("domain capabilities: %s", virGetLastErrorMessage());
	return strstr(caps, "<value>sev-snp</value>") != NULL;
}

/* Step 1, in a child: libvirt probes QEMU into the private cache and, as
 * the host is, refuses the SNP XML (the control for the override below). */
static void probe_in_child(const char *snp_xml)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		virConnectPtr c = open_embedded();
		bool snp = caps_offer_snp(c);
		char *args = virConnectDomainXMLToNative(c, "qemu-argv", snp_xml, 0);
		if (!snp) {
			const char *m = virGetLastErrorMessage();
			bool refused = !args && m && strstr(m, "'sev-snp' launch security is not supported");
			fprintf(stderr, "%s: unpatched capabilities: libvirt refuses the SNP XML (%s)\n",
				refused ? "ok" : "FAIL", args ? "it did not" : m);
			_exit(refused ? 0 : 1);
		}
		free(args);
		virConnectClose(c);
		_exit(10);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		die("capability probe process failed");
	if (WEXITSTATUS(st) == 10)
		fprintf(stderr, "note: this host offers sev-snp itself; the override below is a no-op\n");
	else if (WEXITSTATUS(st) != 0)
		die("capability probe process exited %d", WEXITSTATUS(st));
}

/* Step 2: add the one capability flag this host lacks. */
static void add_snp_flag(void)
{
	char pattern[256];
	glob_t g;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;
	char *at;

	snprintf(pattern, sizeof(pattern), "%s/root/cache/qemu/capabilities/*.xml", root);
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc != 1)
		die("expected one cached QEMU capabilities file at %s", pattern);
	f = fopen(g.gl_pathv[0], "r");
	if (!f || getdelim(&buf, &len, '\0', f) < 0)
		die("%s: cannot read", g.gl_pathv[0]);
	fclose(f);
	if (strstr(buf, "<flag name='sev-snp-guest'/>")) {
		globfree(&g);
		return;
	}
	at = strstr(buf, "  <flag name=");
	if (!at)
		die("%s: no capability flags", g.gl_pathv[0]);
	f = fopen(g.gl_pathv[0], "w");
	if (!f)
		die("%s: cannot write", g.gl_pathv[0]);
	fwrite(buf, 1, (size_t)(at - buf), f);
	fputs("  <flag name='sev-snp-guest'/>\n", f);
	fputs(at, f);
	if (fclose(f) != 0)
		die("%s: write failed", g.gl_pathv[0]);
	globfree(&g);
}

/* virCommandToString's quoting: words separated by spaces, '...' with '\'' inside. */
static char **split_words(const char *s, size_t *n)
{
	char **w = calloc(strlen(s) + 1, sizeof(char *));
	char *cur = malloc(strlen(s) + 1);
	size_t k = 0;
	bool in_word = false;

	*n = 0;
	for (const char *p = s;; p++) {
		if (*p == '\0' || *p == ' ' || *p == '\n') {
			if (in_word) {
				cur[k] = 0;
				w[(*n)++] = strdup(cur);
			}
			in_word = false;
			k = 0;
			if (!*p)
				break;
			continue;
		}
		in_word = true;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				cur[k++] = *p;
			if (!*p)
				break;
		} else if (*p == '\\' && p[1]) {
			cur[k++] = *++p;
		} else {
			cur[k++] = *p;
		}
	}
	free(cur);
	return w;
}

static const char *arg_after(char **w, size_t n, const char *opt, const char *prefix)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (!strcmp(w[i], opt) && (!prefix || !strncmp(w[i + 1], prefix, strlen(prefix))))
			return w[i + 1];
	return NULL;
}

static void check_snp_args(virConnectPtr c, const plan *p, const char *label)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_free_ char *xml = NULL, *argv = NULL, *hd = NULL, *idb = NULL, *ida = NULL;
	char **w;
	size_t n;
	const char *v;
	json_t *o;

	if (plan_domain_xml(p, &xml, &e) < 0)
		die("%s", e->msg);
	argv = virConnectDomainXMLToNative(c, "qemu-argv", xml, 0);
	if (!argv)
		die("%s: libvirt refused the SNP XML: %s\n%s", label, virGetLastErrorMessage(), xml);
	w = split_words(argv, &n);
	fprintf(stderr, "--- %s: %zu QEMU arguments\n", label, n);

	v = arg_after(w, n, "-object", "{\"qom-type\":\"sev-snp-guest\"");
	check(v != NULL, "%s: -object sev-snp-guest", label);
	o = v ? json_loads(v, 0, NULL) : NULL;
	check(o != NULL, "%s: the sev-snp-guest object is JSON", label);
	if (o) {
		hd = measure_base64(p->host_data, SHA256_LEN);
		check((uint64_t)json_integer_value(json_object_get(o, "policy")) == p->policy,
		      "%s: policy %lld == plan 0x%llx", label, json_integer_value(json_object_get(o, "policy")),
		      (unsigned long long)p->policy);
		check(json_is_string(json_object_get(o, "host-data")) &&
			      !strcmp(json_string_value(json_object_get(o, "host-data")), hd),
		      "%s: host-data == base64(SHA-256 of the job descriptor)", label);
		check(json_is_true(json_object_get(o, "kernel-hashes")), "%s: kernel-hashes true", label);
		check(json_integer_value(json_object_get(o, "cbitpos")) == p->cbitpos, "%s: cbitpos %u", label,
		      p->cbitpos);
		check(json_integer_value(json_object_get(o, "reduced-phys-bits")) == p->reduced_phys_bits,
		      "%s: reduced-phys-bits %u", label, p->reduced_phys_bits);
		if (p->has_id_block) {
			idb = measure_base64(p->id_block, MEASURE_ID_BLOCK_LEN);
			ida = measure_base64(p->id_auth, MEASURE_ID_AUTH_LEN);
			check(json_is_string(json_object_get(o, "id-block")) &&
				      !strcmp(json_string_value(json_object_get(o, "id-block")), idb),
			      "%s: id-block == plan", label);
			check(json_is_string(json_object_get(o, "id-auth")) &&
				      !strcmp(json_string_value(json_object_get(o, "id-auth")), ida),
			      "%s: id-auth == plan", label);
			check(json_is_true(json_object_get(o, "author-key-enabled")) == p->author_key,
			      "%s: author-key-enabled == %d", label, p->author_key);
		} else {
			check(!json_object_get(o, "id-block") && !json_object_get(o, "id-auth"),
			      "%s: no id-block/id-auth", label);
		}
		json_decref(o);
	}
	v = arg_after(w, n, "-machine", NULL);
	check(v && strstr(v, "confidential-guest-support=lsec0"), "%s: -machine ...confidential-guest-support=lsec0",
	      label);
	check(v && !strstr(v, "pflash"), "%s: no pflash on -machine", label);
	v = arg_after(w, n, "-bios", NULL);
	check(v && !strcmp(v, p->firmware), "%s: -bios %s (one ROM)", label, p->firmware);
	check(!strstr(argv, "pflash") && !strstr(argv, "nvram") && !strstr(argv, "VARS"),
	      "%s: no pflash, NVRAM or VARS anywhere", label);
	v = arg_after(w, n, "-accel", NULL);
	check(v && !strcmp(v, "kvm"), "%s: -accel kvm", label);
	v = arg_after(w, n, "-cpu", NULL);
	check(v && !strcmp(v, p->cpu_model), "%s: -cpu %s (the measured vCPU type)", label, p->cpu_model);
	v = arg_after(w, n, "-smp", NULL);
	check(v && strtoul(v, NULL, 10) == p->vcpus, "%s: -smp %u", label, p->vcpus);
	v = arg_after(w, n, "-kernel", NULL);
	check(v && !strcmp(v, p->kernel), "%s: -kernel %s", label, p->kernel);
	v = arg_after(w, n, "-initrd", NULL);
	check(v && !strcmp(v, p->initrd), "%s: -initrd", label);
	v = arg_after(w, n, "-append", NULL);
	check(v && !strcmp(v, p->cmdline), "%s: -append == plan cmdline", label);
	v = arg_after(w, n, "-object", "{\"qom-type\":\"memory-backend-memfd\"");
	check(v && strstr(v, "\"share\":false"), "%s: private memfd memory backend", label);
	v = arg_after(w, n, "-device", "{\"driver\":\"vhost-vsock-pci\"");
	check(v != NULL, "%s: -device vhost-vsock-pci", label);
	check(!strstr(argv, "-netdev") && !strstr(argv, "virtio-net") && !strstr(argv, "e1000"),
	      "%s: no network device", label);
	check(arg_after(w, n, "-nodefaults", NULL) || strstr(argv, " -nodefaults"), "%s: -nodefaults", label);
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

static void check_dev_args(virConnectPtr c, const plan *p)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_free_ char *xml = NULL, *argv = NULL;

	if (plan_domain_xml(p, &xml, &e) < 0)
		die("%s", e->msg);
	argv = virConnectDomainXMLToNative(c, "qemu-argv", xml, 0);
	check(argv != NULL, "dev: libvirt generates the arguments: %s", argv ? "yes" : virGetLastErrorMessage());
	if (argv) {
		check(!strstr(argv, "sev-snp-guest") && !strstr(argv, "confidential-guest-support"),
		      "dev: no SEV-SNP object");
		check(strstr(argv, "-accel tcg") != NULL, "dev: -accel tcg");
		check(!strstr(argv, "-netdev"), "dev: no network device");
	}
}

static void write_key(const char *path)
{
	_cleanup_free_ char *cmd = NULL;
	if (asprintf(&cmd, "openssl ecparam -name secp384r1 -genkey -noout -out '%s' 2>/dev/null", path) < 0 ||
	    system(cmd) != 0)
		die("openssl: cannot generate %s", path);
}

int main(int argc, char **argv)
{
	_cleanup_err_ sb_err *e = NULL;
	_cleanup_image_ image *img = NULL;
	_cleanup_job_ job *j = NULL;
	char path[512], idk[512], authk[512];
	const char *fixtures = getenv("SNPBUILD_FIXTURES");
	cpu_set_t one;
	virConnectPtr c;
	FILE *f;

	if (argc != 2)
		die("usage: %s GUEST_IMAGE_DIR", argv[0]);
	if (image_load(argv[1], &img, &e) < 0)
		die("guest image: %s (meson compile -C BUILD guest-image)", e->msg);
	if (job_parse(JOB_TEXT, strlen(JOB_TEXT), "job.json", NULL, 0, &j, &e) < 0)
		die("%s", e->msg);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		die("sched_setaffinity: %m");
	if (!mkdtemp(root))
		die("mkdtemp: %m");
	snprintf(path, sizeof(path), "%s/root", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/root/etc", root);
	mkdir(path, 0700);
	/* QEMU as root, as scripts/libvirtd.sh configures the system daemon: with
	 * /dev/kvm root-only, another user makes libvirt re-probe endlessly. */
	snprintf(path, sizeof(path), "%s/root/etc/qemu.conf", root);
	f = fopen(path, "w");
	if (!f)
		die("%s: %m", path);
	fputs("user = \"root\"\ngroup = \"root\"\n", f);
	fclose(f);

	char fw[512];
	snprintf(fw, sizeof(fw), "%s/snp/sev-snp-measure/ovmf_AmdSev_suffix.bin", fixtures ? fixtures : SNPBUILD_FIXTURES);
	plan_opts o = { .job_id = "argv-1", .work_dir = root, .console_log = "/tmp/console.log", .domain_type = "kvm",
			.firmware = fw, .force_transport = -1 };
	plan *p = NULL;
	_cleanup_free_ char *snp_xml = NULL;
	if (plan_build(j, img, &o, &p, &e) < 0 || plan_domain_xml(p, &snp_xml, &e) < 0)
		die("plan: %s", e->msg);

	probe_in_child(snp_xml);
	add_snp_flag();

	c = open_embedded();
	check(caps_offer_snp(c), "the embedded driver now offers launchSecurity sev-snp (capability override)");

	check_snp_args(c, p, "snp");
	plan_free(p);

	/* Another policy and cbitpos, and an ID block signed with an author key. */
	o.has_policy = true, o.policy = 0x20000 | PLAN_POLICY_SINGLE_SOCKET;
	o.has_cbitpos = true, o.cbitpos = 47;
	if (plan_build(j, img, &o, &p, &e) < 0)
		die("plan: %s", e->msg);
	snprintf(idk, sizeof(idk), "%s/id.pem", root);
	snprintf(authk, sizeof(authk), "%s/author.pem", root);
	write_key(idk);
	write_key(authk);
	plan_id_opts ido = { .id_key = idk, .author_key = authk };
	if (plan_sign_id_block(p, &ido, &e) < 0)
		die("ID block: %s", e->msg);
	check_snp_args(c, p, "snp+id-block");
	plan_free(p);

	o = (plan_opts){ .job_id = "argv-2", .work_dir = root, .console_log = "/tmp/console.log", .domain_type = "qemu",
			 .force_transport = -1, .has_tee = true, .tee = JOB_TEE_NONE };
	if (plan_build(j, img, &o, &p, &e) < 0)
		die("plan: %s", e->msg);
	check_dev_args(c, p);
	plan_free(p);

	virConnectClose(c);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	if (failures) {
		fprintf(stderr, "FAIL: %d check(s) failed\n", failures);
		return 1;
	}
	fprintf(stderr, "PASS: plan-qemu-argv\n");
	return 0;
}
