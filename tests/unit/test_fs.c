/* test_fs.c - file helpers: removing trees (deep, read-only, with links
 * that must not be followed), creating folders, atomic writes */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/fs.h"

static char *tmpdir(void)
{
	char tpl[] = "/tmp/envmatrix-fs.XXXXXX";
	char *d = mkdtemp(tpl);
	assert_non_null(d);
	return strdup(d);
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static void touch(int dfd, const char *name, unsigned mode)
{
	int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void test_remove_deep_readonly_tree(void **state)
{
	(void)state;
	char *root = tmpdir();
	/* outside the tree: what links inside it point at must survive */
	char outside[512];
	snprintf(outside, sizeof outside, "%s-outside", root);
	assert_int_equal(mkdir(outside, 0755), 0);
	int ofd = open(outside, O_RDONLY | O_DIRECTORY);
	touch(ofd, "keep", 0644);
	close(ofd);

	char tree[512];
	snprintf(tree, sizeof tree, "%s/tree", root);
	assert_int_equal(mkdir(tree, 0755), 0);
	int fd = open(tree, O_RDONLY | O_DIRECTORY);
	/* 2,000 levels of 40-byte names: paths far past PATH_MAX */
	for (int i = 0; i < 2000; i++) {
		char n[64];
		snprintf(n, sizeof n, "level-%05d-a-name-of-some-length-here", i);
		assert_int_equal(mkdirat(fd, n, 0755), 0);
		touch(fd, "file", 0444);
		assert_int_equal(symlinkat(outside, fd, "link-to-outside"), 0);
		int sub = openat(fd, n, O_RDONLY | O_DIRECTORY);
		assert_true(sub >= 0);
		if (i % 5 == 0)
			fchmod(fd, 0555); /* read-only folders, as the cache's */
		close(fd);
		fd = sub;
	}
	close(fd);
	struct em_error e = { 0 };
	int rc = em_remove_tree(tree, &e);
	if (rc)
		fail_msg("%s: %s", e.where, e.msg);
	assert_false(exists(tree));
	char keep[600];
	snprintf(keep, sizeof keep, "%s/keep", outside);
	assert_true(exists(keep));
	/* a link at the top is removed, not followed */
	char link[600];
	snprintf(link, sizeof link, "%s/top-link", root);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(em_remove_tree(link, &e), 0);
	assert_false(exists(link));
	assert_true(exists(keep));
	/* nothing there is fine */
	assert_int_equal(em_remove_tree(tree, &e), 0);
	em_remove_tree(outside, NULL);
	em_remove_tree(root, NULL);
	assert_false(exists(root));
	free(root);
}

static void test_mkdir_p_and_atomic_write(void **state)
{
	(void)state;
	char *root = tmpdir();
	char deep[512];
	snprintf(deep, sizeof deep, "%s/a/b/c", root);
	struct em_error e = { 0 };
	assert_int_equal(em_mkdir_p(deep, &e), 0);
	assert_int_equal(em_mkdir_p(deep, &e), 0); /* existing: fine */
	char file[600];
	snprintf(file, sizeof file, "%s/f.txt", deep);
	assert_int_equal(em_write_file_atomic(file, "one\n", 4, 0644, &e), 0);
	assert_int_equal(em_write_file_atomic(file, "two!\n", 5, 0600, &e), 0);
	size_t len;
	char *text = tu_read_file(file, &len);
	assert_non_null(text);
	assert_int_equal(len, 5);
	assert_memory_equal(text, "two!\n", 5);
	free(text);
	/* no temporary left beside it */
	char cmd[700];
	snprintf(cmd, sizeof cmd, "test \"$(ls '%s' | wc -l)\" = 1", deep);
	assert_int_equal(system(cmd), 0);
	/* a file in the way of a folder */
	char under[700];
	snprintf(under, sizeof under, "%s/sub", file);
	assert_int_not_equal(em_mkdir_p(under, &e), 0);
	assert_non_null(strstr(e.msg, "cannot create the folder"));
	em_remove_tree(root, NULL);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remove_deep_readonly_tree),
		cmocka_unit_test(test_mkdir_p_and_atomic_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
