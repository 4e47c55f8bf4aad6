#!/bin/sh
# test_history.sh - generations and history: five applies with changing
# matrices make five generations whose summaries say what changed in plain
# words; diff; rollback --to 2 rebuilds generation 2 exactly with the index
# gone (--offline); a damaged or locked history repository gives a clear
# error, leaves the environments applied and never blocks a plain
# rollback; apply --rev HEAD~2 builds an old matrix while the work tree
# holds a newer one and leaves the work tree alone; cache prune keeps
# every generation's wheels and --keep 1 drops the older ones; history =
# off.
#
# Needs python3 (for the JSON) and git (to make the --rev test repository
# and to look inside the history); uses two different Pythons when the
# machine has them (pyenv), else one.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"
unset ENVMATRIX_HISTORY
# the history's author: git's user.name when set, else $USER@hostname
export HOME="$T_TMP/home" XDG_CONFIG_HOME="$T_TMP/home/.config" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
"$MKINDEX" "$top/tests/indexes/history.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test index"; t_done; exit 1; }
command -v git >/dev/null || { t_skip "every check" "git is not installed (apt-get install git)"; t_done; exit; }

V1= V2=
while read -r ver impl src path; do
	case $ver in *t) continue ;; esac
	[ "$impl" = cpython ] || continue
	case $ver in 3.*) ;; *) continue ;; esac
	if [ -z "$V1" ]; then
		V1=$ver
	elif [ -z "$V2" ] && [ "${ver%.*}" != "${V1%.*}" ]; then
		V2=$ver
	fi
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
if [ -z "$V1" ]; then
	t_skip "every check" "no CPython 3 interpreter (apt-get install python3)"
	t_done
	exit
fi
[ -n "$V2" ] || { echo "# only one Python ($V1): generation 5 changes no Python"; V2=$V1; }
echo "# pythons: $V1, $V2"

M="$T_TMP/m"
mkdir -p "$M"
write_matrix() { # PYTHON TORCH PACKAGE-LINES
	cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
torch-index-url = $IDX/torch

[a]
path = a
python = $1
torch = $2
cuda = cpu
packages =
$3
EOF
}
A="$M/a/.venv"
H="$M/.envmatrix/history.git"
# the installed files with their hashes (every RECORD's lines) and the lock
installed() {
	cat "$1"/lib/python3*/site-packages/*.dist-info/RECORD | sort
	sha256sum <"$1/pylock.toml"
}
jsonq() {
	python3 -c 'import json,sys; j=json.load(sys.stdin); print('"$1"')'
}

apply_ok() { # WHAT GENERATION [SYSROOT]
	t_run env ENVMATRIX_SYSROOT="${3:-$ENVMATRIX_SYSROOT}" "$EM" apply -f "$M/matrix.ini"
	if [ "$T_RC" = 0 ] && printf '%s\n' "$T_ERR" | grep -q "generation $2 recorded"; then
		t_pass "$1"
	else
		t_fail "$1" "exit $T_RC" "$T_OUT" "$T_ERR"
	fi
}

# ---- five applies, five generations ----
write_matrix "$V1" 2.7.1 "    alpha==1.0"
apply_ok "apply 1 records generation 1" 1
write_matrix "$V1" 2.7.1 "    alpha==2.0"
apply_ok "apply 2 records generation 2" 2
installed "$A" >"$T_TMP/gen2.installed"
write_matrix "$V1" 2.8.0 "    alpha==2.0
    beta
    gamma"
apply_ok "apply 3 records generation 3" 3
write_matrix "$V1" 2.8.0 "    alpha==2.0
    delta"
apply_ok "apply 4 records generation 4" 4
if [ "$V1" != "$V2" ]; then
	write_matrix "$V2" 2.8.0 "    alpha==2.0
    delta"
else
	write_matrix "$V1" 2.8.0 "    alpha==1.0
    delta"
fi
# the fifth on a host that looks like the recorded H200 (its /sys and /proc)
apply_ok "apply 5 records generation 5" 5 "$top/tests/fixtures/hosts/nvidia-h200"
[ -d "$H" ] && git --git-dir="$H" rev-parse --is-bare-repository | grep -q true &&
	t_pass "the history is a bare git repository beside the matrix" ||
	t_fail "the history is a bare git repository beside the matrix"

t_run "$EM" apply -f "$M/matrix.ini"
[ "$T_RC" = 0 ] && ! printf '%s\n' "$T_ERR" | grep -q recorded &&
	[ "$(git --git-dir="$H" rev-list --count HEAD)" = 5 ] &&
	t_pass "an apply that changes nothing records nothing" ||
	t_fail "an apply that changes nothing records nothing" "$T_ERR"

gen5="python $V1 → $V2"
[ "$V1" = "$V2" ] && gen5="alpha 2.0 → 1.0"
want="5	apply	$gen5
4	apply	+1 package, -2
3	apply	torch 2.7.1+cpu → 2.8.0+cpu, +2 packages
2	apply	alpha 1.0 → 2.0
1	apply	python $V1, torch 2.7.1+cpu, 2 packages"
t_run sh -c '"$1" history -f "$2" --json | python3 -c "
import json, sys
for g in json.load(sys.stdin)[\"generations\"]:
    print(\"%d\t%s\t%s\" % (g[\"generation\"], g[\"kind\"], g[\"summary\"]))"' sh "$EM" "$M/matrix.ini"
[ "$T_OUT" = "$want" ] && t_pass "history: five generations, newest first, with their changes" ||
	t_fail "history: five generations, newest first, with their changes" "$T_OUT" "want:" "$want"

t_run "$EM" history "$M/matrix.ini" a
line=$(printf '%s\n' "$T_OUT" | sed -n 3p)
c4=$(git --git-dir="$H" rev-parse --short=7 HEAD~1)
case $line in
"a               4  "????-??-??" "??:??"  $c4  apply             +1 package, -2")
	t_pass "history's table: workload, number, date, commit, kind, changes" ;;
*) t_fail "history's table: workload, number, date, commit, kind, changes" "$T_OUT" ;;
esac
t_run "$EM" history -f "$M/matrix.ini" -n 2
[ "$(printf '%s\n' "$T_OUT" | wc -l)" = 3 ] && t_pass "history -n 2" || t_fail "history -n 2" "$T_OUT"
t_run sh -c '"$1" history -f "$2" a --json | python3 -c "
import json, sys
g = json.load(sys.stdin)[\"generations\"][1]
print(g[\"workload\"], g[\"generation\"], len(g[\"commit\"]), g[\"date\"][-1], g[\"rollback_to\"], g[\"rev\"])"' sh "$EM" "$M/matrix.ini"
[ "$T_OUT" = "a 4 40 Z None None" ] && t_pass "history --json" || t_fail "history --json" "$T_OUT"
t_expect_err "history of a workload the matrix does not have" 1 "no workload 'zz'" -- \
	"$EM" history -f "$M/matrix.ini" zz

# the commit holds the matrix, the lock, the host facts
t_run git --git-dir="$H" show HEAD~3:matrix.ini
printf '%s\n' "$T_OUT" | grep -q 'alpha==2.0' && ! printf '%s\n' "$T_OUT" | grep -q beta &&
	t_pass "generation 2's commit holds the matrix as applied" ||
	t_fail "generation 2's commit holds the matrix as applied" "$T_OUT"
t_run git --git-dir="$H" show HEAD:host.json
printf '%s\n' "$T_OUT" | jsonq 'j["platform"].startswith("linux-") and j["nvidia"]["driver"] == "580.159.04" and j["nvidia"]["cuda"] == "13.0" and [(g["name"], g["compute_capability"]) for g in j["nvidia"]["gpus"]] == [("NVIDIA H200", "9.0")]' | grep -qx True &&
	t_pass "the commit holds the host facts: platform, driver, CUDA, GPUs" ||
	t_fail "the commit holds the host facts" "$T_OUT"
t_run git --git-dir="$H" show HEAD~1:host.json
printf '%s\n' "$T_OUT" | jsonq '"nvidia" not in j' | grep -qx True &&
	t_pass "a host without an NVIDIA driver records none" ||
	t_fail "host facts without a driver" "$T_OUT"
t_run git --git-dir="$H" show HEAD:workloads/a/verify.json
printf '%s\n' "$T_OUT" | jsonq 'j["ok"] is True and j["failed"] == 0 and any(c["name"].startswith("import alpha") for c in j["checks"])' | grep -qx True &&
	t_pass "the commit holds the new environment's verification" ||
	t_fail "verify.json in the commit" "$T_OUT"
t_run git --git-dir="$H" log -1 --format=%B HEAD~2
printf '%s\n' "$T_OUT" | grep -q '^Envmatrix-Summary: a: torch 2.7.1+cpu → 2.8.0+cpu, +2 packages$' &&
	t_pass "the commit message carries the summary" ||
	t_fail "the commit message carries the summary" "$T_OUT"
git --git-dir="$H" show HEAD:workloads/a/pylock.toml | cmp -s - "$M/pylock.a.toml" &&
	t_pass "the commit holds the lock" || t_fail "the commit holds the lock"

# ---- diff ----
want="upgraded   alpha 1.0 → 2.0
added      beta 1.0
added      gamma 1.0
upgraded   torch 2.7.1+cpu → 2.8.0+cpu"
t_expect "diff 1 3" 0 "$want" -- "$EM" diff -f "$M/matrix.ini" a 1 3
t_expect "diff of a generation with itself: nothing" 0 "" -- "$EM" diff "$M/matrix.ini" a 5 current
t_run sh -c '"$1" diff -f "$2" a 3 4 --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
print(j[\"from\"], j[\"to\"], [(c[\"kind\"], c[\"name\"]) for c in j[\"changes\"]], j[\"summary\"])"' sh "$EM" "$M/matrix.ini"
[ "$T_OUT" = "3 4 [('removed', 'beta'), ('added', 'delta'), ('removed', 'gamma')] +1 package, -2" ] &&
	t_pass "diff --json" || t_fail "diff --json" "$T_OUT"
t_expect_err "diff: a generation that does not exist" 1 "no generation 9 (it has 1 to 5" -- \
	"$EM" diff -f "$M/matrix.ini" a 1 9
t_expect_err "diff: not a generation" 2 "'x' is not a generation" -- "$EM" diff -f "$M/matrix.ini" a 1 x

# ---- rollback --to 2 with the index gone ----
mv "$IDX" "$IDX.gone"
t_run "$EM" rollback -f "$M/matrix.ini" a --to 2 --offline
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "rebuilt generation 2" &&
	printf '%s\n' "$T_ERR" | grep -q "generation 6 recorded"; then
	t_pass "rollback --to 2 --offline without the index"
else
	t_fail "rollback --to 2 --offline without the index" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
installed "$A" >"$T_TMP/now.installed"
cmp -s "$T_TMP/gen2.installed" "$T_TMP/now.installed" &&
	t_pass "generation 2 comes back exactly: same files, same hashes, same lock" ||
	t_fail "generation 2 comes back exactly" "$(diff "$T_TMP/gen2.installed" "$T_TMP/now.installed")"
git --git-dir="$H" show HEAD~4:workloads/a/pylock.toml | cmp -s - "$A/pylock.toml" &&
	cmp -s "$A/pylock.toml" "$M/pylock.a.toml" &&
	t_pass "the venv's lock and the lock file are generation 2's recorded lock" ||
	t_fail "the venv's lock and the lock file are generation 2's recorded lock"
t_run "$EM" run -f "$M/matrix.ini" a -- python -c 'import alpha, torch; print(alpha.VERSION, torch.__version__)'
[ "$T_OUT" = "2.0 2.7.1+cpu" ] && t_pass "the rebuilt environment runs" || t_fail "the rebuilt environment runs" "$T_OUT" "$T_ERR"
t_run sh -c '"$1" history -f "$2" --json -n 1 | python3 -c "
import json, sys
g = json.load(sys.stdin)[\"generations\"][0]
print(g[\"generation\"], g[\"kind\"], g[\"rollback_to\"], g[\"summary\"])"' sh "$EM" "$M/matrix.ini"
want6="6 rollback 2 python $V2 → $V1, torch 2.8.0+cpu → 2.7.1+cpu, -1 package"
[ "$V1" = "$V2" ] && want6="6 rollback 2 torch 2.8.0+cpu → 2.7.1+cpu, alpha 1.0 → 2.0, -1 package"
[ "$T_OUT" = "$want6" ] && t_pass "the rollback is a generation that says so" ||
	t_fail "the rollback is a generation that says so" "$T_OUT" "want: $want6"
t_expect_err "rollback --to a generation that does not exist" 1 "no generation 42 (it has 1 to 6" -- \
	"$EM" rollback -f "$M/matrix.ini" a --to 42
t_expect_err "rollback --to with two workloads" 2 "name one" -- \
	"$EM" rollback -f "$M/matrix.ini" a a --to 1
t_expect_err "rollback --offline without --to" 2 "for --to" -- \
	"$EM" rollback -f "$M/matrix.ini" a --offline
# a generation whose wheels are in no cache and no index: --offline says so
mv "$ENVMATRIX_CACHE_DIR" "$T_TMP/cache.aside"
t_run "$EM" rollback -f "$M/matrix.ini" a --to 3 --offline
[ "$T_RC" = 1 ] && installed "$A" | cmp -s - "$T_TMP/gen2.installed" &&
	t_pass "rollback --to fails cleanly when the wheels are nowhere; the environment stays" ||
	t_fail "rollback --to fails cleanly when the wheels are nowhere" "exit $T_RC" "$T_ERR"
rm -rf "$ENVMATRIX_CACHE_DIR"
mv "$T_TMP/cache.aside" "$ENVMATRIX_CACHE_DIR"
mv "$IDX.gone" "$IDX"

# ---- cache prune ----
sha_of() { # PACKAGE GENERATION-COMMIT: the wheel's sha256 in that lock
	git --git-dir="$H" show "$2:workloads/a/pylock.toml" |
		python3 -c 'import sys, tomllib; l = tomllib.loads(sys.stdin.read()); print([p["wheels"][0]["hashes"]["sha256"] for p in l["packages"] if p["name"] == sys.argv[1]][0])' "$1" 2>/dev/null
}
BETA=$(sha_of beta HEAD~3)
if [ -z "$BETA" ]; then
	BETA=$(git --git-dir="$H" show HEAD~3:workloads/a/pylock.toml | grep -A8 'name = "beta"' |
		sed -n 's/.*sha256 = "\([0-9a-f]*\)".*/\1/p' | head -1)
fi
K="$ENVMATRIX_CACHE_DIR/unpacked"
[ -n "$BETA" ] && [ -d "$K/$BETA" ] && t_pass "generation 3's beta is in the cache" ||
	t_fail "generation 3's beta is in the cache" "sha '$BETA'"
t_run "$EM" cache prune -f "$M/matrix.ini"
[ "$T_RC" = 0 ] && [ -d "$K/$BETA" ] && t_pass "cache prune keeps what older generations need" ||
	t_fail "cache prune keeps what older generations need" "$T_ERR"
t_run "$EM" cache prune -f "$M/matrix.ini" --keep 4
[ "$T_RC" = 0 ] && [ -d "$K/$BETA" ] && t_pass "cache prune --keep 4 keeps generation 3's wheels" ||
	t_fail "cache prune --keep 4 keeps generation 3's wheels" "$T_ERR"
t_run "$EM" cache prune -f "$M/matrix.ini" --keep 1
n_left=$(ls "$K" | wc -l)
if [ "$T_RC" = 0 ] && [ ! -e "$K/$BETA" ] && [ "$n_left" -ge 3 ]; then
	t_pass "cache prune --keep 1 drops what only older generations need"
else
	t_fail "cache prune --keep 1 drops what only older generations need" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" rollback -f "$M/matrix.ini" a --to 5 --offline
[ "$T_RC" = 0 ] && t_pass "the kept generations still rebuild offline" ||
	t_fail "the kept generations still rebuild offline" "$T_ERR"
t_expect_err "prune --keep needs a number" 2 "needs a number" -- \
	"$EM" cache prune -f "$M/matrix.ini" --keep x
t_expect_err "--keep is for prune" 2 "is for prune" -- "$EM" cache info -f "$M/matrix.ini" --keep 1

# ---- a damaged or locked history ----
cp -a "$H" "$T_TMP/history.good"
write_matrix "$V1" 2.8.0 "    alpha==1.0"
printf 'garbage\n' >"$H/HEAD"
t_run "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "$H" &&
	printf '%s\n' "$T_ERR" | grep -q "damaged: move it aside" &&
	printf '%s\n' "$T_ERR" | grep -q "the environments are in place" &&
	printf '%s\n' "$T_OUT" | grep -q '^a  *built '; then
	t_pass "a garbage HEAD: apply builds, then says the history is damaged (exit 1)"
else
	t_fail "a garbage HEAD: apply builds, then says the history is damaged" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect_err "a garbage HEAD: history names the repository" 1 "$H.*damaged" -- \
	"$EM" history -f "$M/matrix.ini"
t_run "$EM" rollback -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && t_pass "a damaged history never blocks a plain rollback" ||
	t_fail "a damaged history never blocks a plain rollback" "$T_ERR"
t_expect_err "a damaged history: rollback --to says so" 1 "damaged" -- \
	"$EM" rollback -f "$M/matrix.ini" a --to 2

rm -rf "$H"
cp -a "$T_TMP/history.good" "$H"
obj=$(git --git-dir="$H" rev-parse HEAD)
f="$H/objects/$(echo "$obj" | cut -c1-2)/$(echo "$obj" | cut -c3-)"
chmod u+w "$f"
head -c 20 "$f" >"$f.t" && mv "$f.t" "$f"
t_expect_err "a truncated commit object: history names the repository" 1 "$H.*damaged" -- \
	"$EM" history -f "$M/matrix.ini"
t_run "$EM" apply -f "$M/matrix.ini" --force
[ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "damaged" &&
	printf '%s\n' "$T_OUT" | grep -q '^a  *built ' &&
	t_pass "a truncated object: the environment is applied, the error is clear" ||
	t_fail "a truncated object: the environment is applied, the error is clear" "exit $T_RC" "$T_ERR"
t_run "$EM" rollback -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && t_pass "a truncated object never blocks a plain rollback" ||
	t_fail "a truncated object never blocks a plain rollback" "$T_ERR"

rm -rf "$H"
cp -a "$T_TMP/history.good" "$H"
: >"$H/refs/heads/main.lock"
t_run "$EM" apply -f "$M/matrix.ini" --force
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "$H/refs/heads/main.lock" &&
	printf '%s\n' "$T_ERR" | grep -q "locked" && printf '%s\n' "$T_ERR" | grep -q "remove this file"; then
	t_pass "a locked history: the error names the lock file and what to do"
else
	t_fail "a locked history: the error names the lock file and what to do" "exit $T_RC" "$T_ERR"
fi
t_run "$EM" rollback -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && t_pass "a locked history never blocks a plain rollback" ||
	t_fail "a locked history never blocks a plain rollback" "$T_ERR"
rm -f "$H/refs/heads/main.lock"
: >"$H/index.lock"
t_expect_err "an index.lock: named too" 1 "$H/index.lock" -- "$EM" apply -f "$M/matrix.ini" --force
rm -f "$H/index.lock"
# nothing to build, but the environment in place was never recorded (the
# history was locked): the next apply catches the history up
t_run "$EM" apply -f "$M/matrix.ini"
[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^a  *unchanged ' &&
	printf '%s\n' "$T_ERR" | grep -q "generation [0-9]* recorded" &&
	[ "$(git --git-dir="$H" rev-list --count HEAD)" = 8 ] &&
	git --git-dir="$H" show HEAD:workloads/a/pylock.toml | cmp -s - "$A/pylock.toml" &&
	git --git-dir="$H" fsck --strict >/dev/null 2>&1 &&
	t_pass "unlocked, the next apply records the environment the history missed (git fsck is happy)" ||
	t_fail "unlocked, the history catches up" "exit $T_RC" "$T_OUT" "$T_ERR"
t_run "$EM" apply -f "$M/matrix.ini"
[ "$T_RC" = 0 ] && [ "$(git --git-dir="$H" rev-list --count HEAD)" = 8 ] &&
	! printf '%s\n' "$T_ERR" | grep -q "recorded" &&
	t_pass "an apply that changes nothing records nothing" ||
	t_fail "an unchanged apply records nothing" "exit $T_RC" "$T_ERR"
t_run "$EM" apply -f "$M/matrix.ini" --force --json
last=$(git --git-dir="$H" show HEAD:workloads/a/generations | tail -n 1 | cut -f1)
[ "$T_RC" = 0 ] && [ -n "$last" ] &&
	[ "$(printf '%s\n' "$T_OUT" | jsonq 'j["workloads"][0]["generation"]')" = "$last" ] &&
	t_pass "apply --json gives each workload's new generation number ($last)" ||
	t_fail "apply --json generation" "exit $T_RC" "$T_OUT" "$T_ERR" "last: $last"

# ---- history = off, and elsewhere ----
n=$(git --git-dir="$H" rev-list --count HEAD)
t_run env ENVMATRIX_HISTORY=off "$EM" apply -f "$M/matrix.ini" --force
[ "$T_RC" = 0 ] && [ "$(git --git-dir="$H" rev-list --count HEAD)" = "$n" ] &&
	t_pass "ENVMATRIX_HISTORY=off records nothing" || t_fail "ENVMATRIX_HISTORY=off records nothing" "$T_ERR"
t_expect_err "history with the history off" 1 "history is off" -- \
	env ENVMATRIX_HISTORY=off "$EM" history -f "$M/matrix.ini"
t_run env ENVMATRIX_HISTORY="$T_TMP/elsewhere.git" "$EM" apply -f "$M/matrix.ini" --force
[ "$T_RC" = 0 ] && [ "$(git --git-dir="$T_TMP/elsewhere.git" rev-list --count HEAD)" = 1 ] &&
	t_pass "ENVMATRIX_HISTORY names another repository" ||
	t_fail "ENVMATRIX_HISTORY names another repository" "$T_ERR"
sed -i 's|^\[matrix\]|[matrix]\nhistory = hist/h.git|' "$M/matrix.ini"
t_run "$EM" apply -f "$M/matrix.ini" --force
[ "$T_RC" = 0 ] && [ -d "$M/hist/h.git" ] && t_pass "the matrix's history key, relative to the matrix" ||
	t_fail "the matrix's history key, relative to the matrix" "$T_ERR"

# ---- apply --rev ----
G="$T_TMP/g"
mkdir -p "$G/sub"
git -C "$G" init -q
printf '.envmatrix/\nvenvs/\n' >"$G/.gitignore"
cat >"$G/sub/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
torch-index-url = $IDX/torch

[w]
path = ../venvs/w
python = $V1
requirements = req.txt
EOF
for r in "alpha==1.0" "alpha==2.0" "alpha==2.0
beta" "alpha==2.0
beta
gamma"; do
	printf '%s\n' "$r" >"$G/sub/req.txt"
	git -C "$G" add -A
	git -C "$G" -c user.name=t -c user.email=t@example.com commit -qm "$r"
done
before=$(cd "$G" && git status --porcelain && find sub -type f -not -path "*/.envmatrix/*" | sort | xargs sha256sum)
t_run "$EM" apply --rev HEAD~2 "$G/sub/matrix.ini"
after=$(cd "$G" && git status --porcelain && find sub -type f -not -path "*/.envmatrix/*" | sort | xargs sha256sum)
if [ "$T_RC" = 0 ] && ls "$G/venvs/w/.venv/lib/"python3*/site-packages | grep -qx 'alpha-2.0.dist-info' &&
	! ls "$G/venvs/w/.venv/lib/"python3*/site-packages | grep -q beta; then
	t_pass "apply --rev HEAD~2 builds the old matrix"
else
	t_fail "apply --rev HEAD~2 builds the old matrix" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
[ "$before" = "$after" ] && [ ! -e "$G/sub/pylock.w.toml" ] &&
	t_pass "apply --rev leaves the work tree alone (no lock written)" ||
	t_fail "apply --rev leaves the work tree alone" "$before" "$after"
t_run sh -c '"$1" history "$2" --json | python3 -c "
import json, sys
g = json.load(sys.stdin)[\"generations\"][0]
print(g[\"generation\"], g[\"rev\"], g[\"summary\"])"' sh "$EM" "$G/sub/matrix.ini"
[ "$T_OUT" = "1 $(git -C "$G" rev-parse HEAD~2) python $V1, 1 package" ] &&
	t_pass "the history records the revision" || t_fail "the history records the revision" "$T_OUT"
t_run sh -c 'cd "$1/sub" && "$2" apply --rev HEAD' sh "$G" "$EM"
[ "$T_RC" = 0 ] && ls "$G/venvs/w/.venv/lib/"python3*/site-packages | grep -q gamma &&
	t_pass "apply --rev HEAD from the matrix's folder" || t_fail "apply --rev HEAD from the matrix's folder" "$T_ERR"
# --frozen --rev installs the lock committed at the revision
"$EM" -q plan -f "$G/sub/matrix.ini" >/dev/null
git -C "$G" add -A && git -C "$G" -c user.name=t -c user.email=t@example.com commit -qm lock
rm "$G/sub/pylock.w.toml"
printf 'alpha==1.0\n' >"$G/sub/req.txt"
t_run "$EM" apply --rev HEAD --frozen --force -f "$G/sub/matrix.ini"
[ "$T_RC" = 0 ] && ls "$G/venvs/w/.venv/lib/"python3*/site-packages | grep -q gamma &&
	[ ! -e "$G/sub/pylock.w.toml" ] &&
	t_pass "apply --rev --frozen installs the lock committed at the revision" ||
	t_fail "apply --rev --frozen installs the lock committed at the revision" "$T_ERR"
t_expect_err "apply --rev: a revision that does not exist" 1 "no commit 'nope'" -- \
	"$EM" apply --rev nope "$G/sub/matrix.ini"
t_expect_err "apply --rev: a matrix in no git repository" 1 "in none" -- \
	"$EM" apply --rev HEAD -f "$M/matrix.ini"

t_done
