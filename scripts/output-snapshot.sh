#!/bin/bash
# Usage: scripts/output-snapshot.sh BIN OUTDIR — every command's output on the demo and Text+Berg
# test0-3 (../shared/data/textberg), to diff two builds byte for byte (run.json/embed.json
# get a .masked copy with timings zeroed; *.stderr.masked have timings masked):
#   scripts/output-snapshot.sh OLD_BIN /tmp/a; scripts/output-snapshot.sh NEW_BIN /tmp/b
#   diff -r -x run.json -x embed.json -x "*.stderr" -x "err*.txt" /tmp/a /tmp/b
set -u
BIN=$1; O=$2; M=models/multilingual-e5-small-q4; TB=../shared/data/textberg
rm -rf "$O"; mkdir -p "$O"
B() { "$BIN" --threads 2 "$@"; }
B run data/demo/karabakh.*.txt --model $M --out $O/run --format jsonl,tsv,moses,tmx 2>$O/run.stderr; echo $? >$O/run.rc
B run data/demo/karabakh.*.txt --model $M --out $O/run-cos --score cosine --mode intersect --pairs en-vi,id-en --pivot vi --format tsv,jsonl 2>$O/run-cos.stderr; echo $? >$O/run-cos.rc
B run $TB/test{0,1,2,3}.de $TB/test{0,1,2,3}.fr --presplit --lang de,de,de,de,fr,fr,fr,fr --mode align --model $M --out $O/runalign --format jsonl,tsv,moses,tmx 2>$O/runalign.stderr; echo $? >$O/runalign.rc
for t in 0 1 2 3; do
  B align $TB/test$t.de $TB/test$t.fr --presplit --lang de,fr --model $M >$O/align$t.vecalign 2>$O/align$t.stderr; echo $? >>$O/align.rc
  B align $TB/test$t.de $TB/test$t.fr --presplit --lang de,fr --model $M --format jsonl --out $O/align$t.jsonl 2>>$O/align$t.stderr; echo $? >>$O/align.rc
done
B embed data/demo/karabakh.*.txt --model $M --out $O/embed 2>$O/embed.stderr; echo $? >$O/embed.rc
B split --json data/demo/karabakh.*.txt >$O/split.json 2>$O/split.stderr; echo $? >$O/split.rc
B split $TB/test0.de --presplit >$O/split-presplit.txt 2>>$O/split.stderr
B eval align --gold $TB/test{0,1,2,3}.defr --test $O/align{0,1,2,3}.vecalign >$O/eval-align.txt 2>&1; echo $? >$O/eval.rc
B eval mining tests/data/tatoeba/tatoeba.vie-eng.vie tests/data/tatoeba/tatoeba.vie-eng.eng --model $M --json >$O/eval-mining.json 2>$O/eval-mining.stderr; echo $? >>$O/eval.rc
B run data/demo/karabakh.*.txt --out $O/run-npy --embeddings $O/embed/karabakh.{en,vi,id}.npy --format jsonl 2>$O/run-npy.stderr; echo $? >$O/run-npy.rc
# error messages (one line each)
B run data/demo/karabakh.en.txt --model $M --out $O/x 2>$O/err1.txt; echo $? >>$O/err.rc
B run data/demo/karabakh.*.txt --model $M --out $O/run 2>$O/err2.txt; echo $? >>$O/err.rc
B run data/demo/nonexist.txt data/demo/karabakh.en.txt --model $M --out $O/y 2>$O/err3.txt; echo $? >>$O/err.rc
B align data/demo/karabakh.en.txt --model $M 2>$O/err4.txt; echo $? >>$O/err.rc
B run data/demo/karabakh.*.txt --model /nonexistent --out $O/z 2>$O/err5.txt; echo $? >>$O/err.rc
B run data/demo/karabakh.*.txt --model $M --out $O/w --lang english 2>$O/err6.txt; echo $? >>$O/err.rc
B run data/demo/karabakh.*.txt --model $M --out $O/v --pairs en-xx 2>$O/err7.txt; echo $? >>$O/err.rc
# mask timings for diffing
find $O -name 'run.json' -o -name embed.json | while read f; do
  python3 - "$f" <<'PY'
import json,sys,re
p=sys.argv[1]; d=json.load(open(p))
def scrub(x):
    if isinstance(x,dict):
        return {k:(0 if re.search(r'(seconds|_s$|timings)',k) and not isinstance(v,(dict,list)) else scrub(v)) for k,v in x.items()}
    if isinstance(x,list): return [scrub(v) for v in x]
    return x
json.dump(scrub(d),open(p+'.masked','w'),indent=1,sort_keys=True)
PY
done
for f in $O/*.stderr; do sed -E 's/[0-9]+\.[0-9]+ s\b/T s/g; s/\([0-9.]+ sentences\/s[^)]*\)/(R)/g; s/[0-9.]+ sentences\/s, [0-9.]+ tokens\/s/R/g' $f > $f.masked; done
