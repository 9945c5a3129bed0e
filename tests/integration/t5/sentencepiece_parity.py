"""Trains small unigram SentencePiece models and encodes prompts with the real library, for
sentencepiece-parity.test.ts.

Usage: sentencepiece_parity.py DIR. DIR holds prompts.json ({"texts": [str], "bytes": [hex str]}) and the
ts-*.model files the TypeScript side wrote; the script trains its models into DIR, encodes every prompt with every
model and writes DIR/result.json: {"version": str, "models": {name: {"ids": [[int]], "pieces": [[str]],
"decoded": [str], "byte_ids": [[int]], "specials": [unk, bos, eos, pad, size]}}}.
Deterministic: a fixed seed for the corpus and one training thread.
"""

import json
import os
import random
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

T5_IDS = dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1)


ENGLISH = """a about above across after again against air all almost along also always among an and animal
another any are around as at away back be because been before behind being below between big bird black blue
boat body both boy bright brown building but by camera can car cat city clear close cloud cold color could dark
day deep dog door down drone during each early earth east even evening every eye face fall far fast few field
fire first fish five flower fly for forest four fox from front full garden girl give gold good grass gray great
green ground group hand happy hard have he head heavy her here high hill his hold horse hot house how ice if in
into is it its jump just keep kind king know lake land large last late lazy leaf left light like line little
long look low machine man many may mountain move much near never new next night no north not now ocean of off old
on once one only open or orange other our out over own paper park people person picture place plant play pink
purple quick quickly quiet rain red right river road rock room round run sand say sea second see shadow ship
shot side sky slow slowly small smoke snow so some sound south space square stand star still stone street sun
sunset table tall than that the their them then there these they thing this through time to together top tower
town toward train tree under up very video view wall water wave way west what wheel when where which white
who wide wind window winter with woman wood world yellow young zebra zoom jazz quiz box wax fix yak""".split()


def corpus(path):
    rng = random.Random(1234)
    syllables = ("th e a in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le "
                 "ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur").split()
    words = ENGLISH + ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(1500)]
    extra = ["café", "naïve", "über", "ﬁne", "Ａｂｃ", "１２３", "Ⅻ", "½", "①", "™", "—", "“quoted”", "(a)", "[b]",
             "x-ray", "e-mail", "it's", "#1", "$5", "50%", "@home", "a/b", "C++", "<tag>"]
    lines = []
    for _ in range(3000):
        out = []
        for _ in range(rng.randint(3, 16)):
            w = rng.choice(words)
            r = rng.random()
            if r < 0.1:
                w = w.capitalize()
            elif r < 0.13:
                w = w.upper()
            elif r < 0.18:
                w = str(rng.randint(0, 3000))
            elif r < 0.22:
                w = rng.choice(extra)
            out.append(w + rng.choice(["", "", "", "", "s", ",", ".", "!", "?", ":", ";"]))
        lines.append(" ".join(out))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def train(d, name, **kw):
    args = dict(input=os.path.join(d, "corpus.txt"), model_prefix=os.path.join(d, name), model_type="unigram",
                num_threads=1, minloglevel=2, **kw)
    spm.SentencePieceTrainer.train(**args)
    return os.path.join(d, name + ".model")


def edited(d, src, name, edit):
    m = pb.ModelProto()
    with open(src, "rb") as f:
        m.ParseFromString(f.read())
    edit(m)
    path = os.path.join(d, name + ".model")
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def mark_unused(m):
    # Some mid-frequency pieces become UNUSED (SetVocabulary's effect): encodes must route around them.
    m.normalizer_spec.escape_whitespaces = False
    for i in range(40, len(m.pieces), 7):
        if m.pieces[i].type == pb.ModelProto.SentencePiece.NORMAL:
            m.pieces[i].type = pb.ModelProto.SentencePiece.UNUSED


def main(d):
    corpus(os.path.join(d, "corpus.txt"))
    models = {
        "nfkc-t5": train(d, "nfkc-t5", vocab_size=1000, **T5_IDS),
        "identity": train(d, "identity", vocab_size=600, normalization_rule_name="identity"),
        "user-defined-raw": train(d, "user-defined-raw", vocab_size=800,
                                  user_defined_symbols=["<sep>", "cat", "@@", "ab c", "ﬁ", "Ｘ½"],
                                  remove_extra_whitespaces=False, add_dummy_prefix=False, **T5_IDS),
        "nfkc-cf-suffix": train(d, "nfkc-cf-suffix", vocab_size=700, normalization_rule_name="nmt_nfkc_cf",
                                treat_whitespace_as_suffix=True),
        "byte-fallback": train(d, "byte-fallback", vocab_size=700, byte_fallback=True, character_coverage=0.98,
                               **T5_IDS),
    }
    models["unused-noescape"] = edited(d, models["nfkc-t5"], "unused-noescape", mark_unused)
    for f in sorted(os.listdir(d)):
        if f.startswith("ts-") and f.endswith(".model"):
            models[f[:-len(".model")]] = os.path.join(d, f)

    with open(os.path.join(d, "prompts.json"), encoding="utf-8") as f:
        prompts = json.load(f)
    raw = [bytes.fromhex(h) for h in prompts["bytes"]]
    result = {"version": spm.__version__, "models": {}}
    for name, path in models.items():
        sp = spm.SentencePieceProcessor(model_file=path)
        ids = [sp.encode(t) for t in prompts["texts"]]
        result["models"][name] = {
            "ids": ids,
            "pieces": [sp.encode_as_pieces(t) for t in prompts["texts"]],
            "decoded": [sp.decode(i) for i in ids],
            "byte_ids": [sp.encode(b) for b in raw],
            "specials": [sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id(), sp.get_piece_size()],
        }
    with open(os.path.join(d, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=True)


if __name__ == "__main__":
    main(sys.argv[1])
