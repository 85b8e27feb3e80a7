#!/usr/bin/env python3
"""hf-check.py: checks `clrepro decode` against the reference implementation itself,
Hugging Face transformers' LlamaForCausalLM. Not part of CI: run it by hand and commit its
--log as evidence.

usage:
  scripts/hf-check.py --clrepro PATH_TO_BINARY [--device cpu] [--model DIR]
                      [--modes invariant,portable,fast] [--tokens 16] [--prompts 4]
                      [--prompt-len 8] [--log FILE] [--work DIR] [--seed 1234]
                      [--rtol 1e-3] [--atol 1e-4] [--flip-tol 1e-4] [--timeout 900]

Python dependencies (pinned in scripts/hf-check-requirements.txt) live in a virtual
environment, not in the system Python:
  python3 -m venv /work/venv-hf
  /work/venv-hf/bin/pip install -r scripts/hf-check-requirements.txt
  /work/venv-hf/bin/python scripts/hf-check.py --clrepro build/clrepro --log check.log
(PyPI's Linux torch wheel pulls in the CUDA runtime wheels, about 5.6 GB in all; where
download.pytorch.org/whl/cpu can be reached, installing torch from there first is lighter.)

Without --model, small randomly initialised LlamaForCausalLM models are built from LlamaConfig
under torch.manual_seed (nothing is downloaded) and saved with save_pretrained(...,
safe_serialization=True) into a temporary folder: fp32 untied MHA, fp32 tied GQA, bf16 untied
GQA, and fp32 GQA with an explicit head_dim (!= hidden/heads) and llama3 rope scaling. Their
weights are drawn with initializer_range 0.08 (the default 0.02 gives nearly flat logits) and
their RMSNorm weights are set to 1 + 0.2 N(0,1) instead of all ones, so that a misplaced norm
weight shows. With --model DIR, that checkpoint is used as it is.

The reference is transformers run in float32 (model.float(), eval, no_grad, eager attention) on
the weights as stored in the checkpoint (bf16/f16 weights widened exactly to float32), because
clrepro computes in float32 from weights widened from their stored dtype.

For every case and mode, `clrepro decode` is run once, each prompt decoded alone (--mixes 1, or
--batch 1 where `clrepro decode --help` names --batch instead), with --repeats 1, --logits-out
and --tokens-out; then:
  * logits: transformers' logits for every position of prompt + clrepro's tokens (teacher
    forced, one forward pass per prompt) against clrepro's; PASS needs
    max |diff| <= rtol * max|ref logit| + atol;
  * teacher-forced argmax: transformers' top-1 at every generated step against clrepro's
    token; a flip is accepted only where transformers' logit of clrepro's token is within
    flip_tol * max|ref logit| of its top-1 (a near tie);
  * self-consistency: clrepro's token must be a top-1 of clrepro's own logits row;
  * transformers' own greedy generate (do_sample=False, no EOS stop, KV cache) against
    clrepro's tokens: the first divergence, accepted only at a near tie as above.
Exit status: 0 every case PASS, 1 any FAIL, 2 usage error.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

# ----------------------------------------------------------------------------- output


class Log:
    """Prints every line and writes it to the --log file as it goes."""

    def __init__(self, path):
        self.file = open(path, "w", encoding="utf-8") if path else None

    def __call__(self, text=""):
        for line in str(text).split("\n"):
            print(line, flush=True)
            if self.file:
                self.file.write(line + "\n")
                self.file.flush()

    def close(self):
        if self.file:
            self.file.close()


def usage_error(message):
    print(f"hf-check.py: error: {message}", file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------- cases

# Small synthetic models. initializer_range 0.08 instead of transformers' default 0.02 so that
# logits are not nearly flat (top-1/top-2 margins well above float32 noise).
SYNTHETIC_CASES = [
    dict(
        name="fp32-mha-untied",
        dtype="float32",
        config=dict(
            vocab_size=512, hidden_size=96, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=6, num_key_value_heads=6, rms_norm_eps=1e-5,
            rope_theta=10000.0, tie_word_embeddings=False,
        ),
    ),
    dict(
        name="fp32-gqa-tied",
        dtype="float32",
        config=dict(
            vocab_size=1000, hidden_size=128, intermediate_size=344, num_hidden_layers=3,
            num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-6,
            rope_theta=10000.0, tie_word_embeddings=True,
        ),
    ),
    dict(
        name="bf16-gqa-untied",
        dtype="bfloat16",
        config=dict(
            vocab_size=768, hidden_size=128, intermediate_size=352, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
            rope_theta=10000.0, tie_word_embeddings=False,
        ),
    ),
    dict(
        name="fp32-llama3rope-headdim",
        dtype="float32",
        config=dict(
            vocab_size=600, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-5,
            rope_theta=500000.0, tie_word_embeddings=False,
            rope_scaling={
                "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 64,
            },
        ),
    ),
]
INITIALIZER_RANGE = 0.08
NORM_WEIGHT_STD = 0.2
MAX_POSITIONS = 256


def build_synthetic(case, index, seed, out_dir, torch, transformers):
    """Builds, initialises and saves one synthetic case; returns its folder."""
    cfg = dict(case["config"])
    cfg.update(max_position_embeddings=MAX_POSITIONS, initializer_range=INITIALIZER_RANGE,
               hidden_act="silu", bos_token_id=1, eos_token_id=2)
    config = transformers.LlamaConfig(**cfg)
    torch.manual_seed(seed + 1000 * index)
    model = transformers.LlamaForCausalLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + NORM_WEIGHT_STD * torch.randn_like(p))
    if case["dtype"] == "bfloat16":
        model = model.to(torch.bfloat16)
    path = os.path.join(out_dir, case["name"])
    model.save_pretrained(path, safe_serialization=True)
    return path


# ----------------------------------------------------------------------------- checkpoint facts


def checkpoint_facts(model_dir):
    """The config.json fields that matter and the stored dtypes of the safetensors files."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    dtypes, tensors, files = {}, 0, []
    for name in sorted(os.listdir(model_dir)):
        if not name.endswith(".safetensors"):
            continue
        files.append(name)
        with open(os.path.join(model_dir, name), "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
        for key, value in header.items():
            if key == "__metadata__":
                continue
            tensors += 1
            dtypes[value["dtype"]] = dtypes.get(value["dtype"], 0) + 1
    keys = ["architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size",
            "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling",
            "rope_parameters", "tie_word_embeddings", "torch_dtype", "dtype"]
    shown = {k: config[k] for k in keys if k in config}
    return config, shown, files, tensors, dtypes


# ----------------------------------------------------------------------------- reference


def load_reference(model_dir, torch, transformers):
    """transformers' LlamaForCausalLM in float32, eager attention, on the stored weights."""
    model = transformers.LlamaForCausalLM.from_pretrained(model_dir, attn_implementation="eager")
    model = model.float().eval()
    # Greedy generation exactly T tokens: a fresh generation config, so that neither a
    # checkpoint's generation_config.json (sampling, penalties) nor its EOS (which would stop
    # generation early, or with min_new_tokens suppress that token) interferes.
    model.generation_config = transformers.GenerationConfig(
        do_sample=False, num_beams=1, eos_token_id=None, pad_token_id=None, bos_token_id=None)
    return model


def reference_logits(model, sequences, torch, np):
    """float32 logits [P, S, V] of each sequence run alone (no padding, no cache)."""
    out = []
    with torch.no_grad():
        for seq in sequences:
            ids = torch.tensor(np.asarray(seq, dtype=np.int64)[None, :])
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits
            out.append(logits[0].float().numpy())
    return np.stack(out)


def reference_generate(model, prompts, tokens, torch, transformers, np):
    """transformers' own greedy generate, each prompt alone: int [P, T]."""
    gen = transformers.GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=tokens,
                                        eos_token_id=None, pad_token_id=None)
    out = []
    with torch.no_grad():
        for prompt in prompts:
            ids = torch.tensor(np.asarray(prompt, dtype=np.int64)[None, :])
            seq = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen)
            new = seq[0, ids.shape[1]:].numpy()
            if new.shape[0] != tokens:
                raise RuntimeError(f"transformers generated {new.shape[0]} tokens, not {tokens}")
            out.append(new)
    return np.stack(out).astype(np.int64)


# ----------------------------------------------------------------------------- comparison


def compare(ref, logits, toks, gen, prompt_len, rtol, atol, flip_tol, np):
    """Compares clrepro's logits [P,S,V] and tokens [P,T] with the reference logits (teacher
    forced on clrepro's tokens) and transformers' generate; returns a dict of results."""
    P, S, V = ref.shape
    T = toks.shape[1]
    r = dict(fail=[], notes=[])
    if not np.all(np.isfinite(logits)):
        bad = np.argwhere(~np.isfinite(logits))[0]
        r["fail"].append(f"non-finite clrepro logit at prompt {bad[0]} row {bad[1]} id {bad[2]}")
        logits = np.nan_to_num(logits, nan=np.inf)
    diff = np.abs(logits.astype(np.float64) - ref.astype(np.float64))
    scale = float(np.max(np.abs(ref)))
    r["max_abs"] = float(np.max(diff))
    r["scale"] = scale
    r["rel"] = r["max_abs"] / scale if scale > 0 else float("inf")
    r["tol"] = rtol * scale + atol
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    r["where"] = tuple(int(x) for x in where)
    if not r["max_abs"] <= r["tol"]:
        r["fail"].append(f"max |logit diff| {r['max_abs']:.3g} > tol {r['tol']:.3g} "
                         f"(prompt {where[0]}, row {where[1]}, id {where[2]})")
    flip_abs = flip_tol * scale

    # Teacher-forced argmax: generated token j came from row prompt_len - 1 + j.
    agree, flips_ok, flips_bad, min_margin = 0, 0, 0, float("inf")
    for p in range(P):
        for j in range(T):
            row = prompt_len - 1 + j
            rr = ref[p, row].astype(np.float64)
            order = np.argsort(-rr, kind="stable")
            top1, top2 = int(order[0]), int(order[1])
            margin = rr[top1] - rr[top2]
            min_margin = min(min_margin, margin)
            tok = int(toks[p, j])
            # clrepro's own consistency: its token must be a top-1 of its own logits row
            own = logits[p, row].astype(np.float64)
            if own[tok] < np.max(own):
                r["fail"].append(f"prompt {p} step {j}: token {tok} is not the argmax of clrepro's own "
                                 f"logits row {row} (argmax {int(np.argmax(own))}, gap "
                                 f"{np.max(own) - own[tok]:.3g})")
            if tok == top1:
                agree += 1
                continue
            gap = rr[top1] - rr[tok]
            text = (f"prompt {p} step {j}: transformers top-1 {top1}, clrepro {tok}; "
                    f"ref gap {gap:.3g}, top1-top2 margin {margin:.3g} "
                    f"({margin / scale:.3g} relative)")
            if gap <= flip_abs:
                flips_ok += 1
                r["notes"].append("accepted near-tie flip: " + text)
            else:
                flips_bad += 1
                r["fail"].append("teacher-forced argmax differs: " + text)
    r["agree"], r["flips_ok"], r["flips_bad"] = agree, flips_ok, flips_bad
    r["min_margin_rel"] = min_margin / scale if scale > 0 else float("inf")

    # transformers' own greedy generate against clrepro's tokens.
    first = []
    for p in range(P):
        d = np.nonzero(gen[p] != toks[p])[0]
        if d.size == 0:
            first.append(None)
            continue
        k = int(d[0])
        first.append(k)
        rr = ref[p, prompt_len - 1 + k].astype(np.float64)
        order = np.argsort(-rr, kind="stable")
        margin = rr[order[0]] - rr[order[1]]
        gap_gen = rr[order[0]] - rr[int(gen[p, k])]
        gap_clr = rr[order[0]] - rr[int(toks[p, k])]
        text = (f"prompt {p}: generate diverges from clrepro at step {k} (generate {int(gen[p, k])}, "
                f"clrepro {int(toks[p, k])}; ref top1-top2 margin {margin:.3g})")
        if max(gap_gen, gap_clr) <= flip_abs:
            r["notes"].append("accepted near-tie divergence: " + text)
        else:
            r["fail"].append(text)
    r["gen_first"] = first
    r["gen_equal"] = sum(1 for k in first if k is None)
    return r


# ----------------------------------------------------------------------------- clrepro


def alone_options(binary):
    """The options that make `clrepro decode` decode each prompt alone only: the contract's
    `--mixes 1`, or `--batch 1` for a build whose `decode --help` names --batch instead."""
    try:
        proc = subprocess.run([binary, "decode", "--help"], capture_output=True, text=True,
                              errors="replace", timeout=60)
        text = proc.stdout + proc.stderr
    except (OSError, subprocess.TimeoutExpired):
        text = ""
    if "--mixes" not in text and "--batch" in text:
        return ["--batch", "1"]
    return ["--mixes", "1"]


def run_clrepro(log, binary, alone, model_dir, device, mode, prompts_file, tokens, work, timeout, np):
    """Runs clrepro decode once; returns (logits, tokens, error text or None)."""
    logits_path = os.path.join(work, "L.npy")
    tokens_path = os.path.join(work, "T.npy")
    out_dir = os.path.join(work, "out")
    for path in (logits_path, tokens_path):
        if os.path.exists(path):
            os.remove(path)
    cmd = [binary, "decode", "--model", model_dir, "--device", device, "--mode", mode,
           "--prompts", prompts_file, "--tokens", str(tokens), *alone, "--repeats", "1",
           "--logits-out", logits_path, "--tokens-out", tokens_path, "--out", out_dir, "--quiet"]
    log(f"$ {shlex.join(cmd)}")
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"clrepro did not finish within {timeout} s"
    except OSError as e:
        return None, None, f"clrepro could not be started: {e}"
    elapsed = time.monotonic() - start
    log(f"  exit {proc.returncode} after {elapsed:.1f} s")
    for stream, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        text = text.strip()
        if text:
            lines = text.split("\n")
            shown = lines[-20:]
            log(f"  {stream}" + (f" (last 20 of {len(lines)} lines)" if len(lines) > 20 else "") + ":")
            for line in shown:
                log("    " + line)
    if proc.returncode != 0:
        return None, None, f"clrepro exited {proc.returncode}: {proc.stderr.strip()[-400:] or '(no stderr)'}"
    try:
        logits = np.load(logits_path, allow_pickle=False)
        toks = np.load(tokens_path, allow_pickle=False)
    except (OSError, ValueError) as e:
        return None, None, f"clrepro's .npy output could not be read: {e}"
    if logits.dtype != np.float32:
        return None, None, f"logits-out has dtype {logits.dtype}, not float32"
    if toks.dtype != np.int32:
        return None, None, f"tokens-out has dtype {toks.dtype}, not int32"
    return logits, toks, None


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(
        description="Check `clrepro decode` against Hugging Face transformers' LlamaForCausalLM "
                    "(float32 reference). Exit 0 all PASS, 1 any FAIL, 2 usage error.")
    ap.add_argument("--clrepro", required=True, help="path to the clrepro binary")
    ap.add_argument("--device", default="cpu", help="clrepro's --device SPEC (default cpu)")
    ap.add_argument("--model", help="a local LlamaForCausalLM checkpoint folder (default: synthetic cases)")
    ap.add_argument("--modes", default="invariant,portable,fast", help="comma-separated clrepro modes")
    ap.add_argument("--tokens", type=int, default=16, help="generated tokens T per prompt (default 16)")
    ap.add_argument("--prompts", type=int, default=4, help="number of random prompts (default 4)")
    ap.add_argument("--prompt-len", type=int, default=8, help="tokens per prompt (default 8)")
    ap.add_argument("--seed", type=int, default=1234, help="torch/numpy seed (default 1234)")
    ap.add_argument("--rtol", type=float, default=1e-3, help="logits: relative to max|ref logit| (default 1e-3)")
    ap.add_argument("--atol", type=float, default=1e-4, help="logits: absolute (default 1e-4)")
    ap.add_argument("--flip-tol", type=float, default=1e-4,
                    help="argmax flips accepted where the ref gap is below this times max|ref logit| (default 1e-4)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per clrepro run (default 900)")
    ap.add_argument("--work", help="keep models, prompts and .npy files in this folder (default: a temporary one, removed)")
    ap.add_argument("--log", help="also write the output to this file")
    args = ap.parse_args()

    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in ("fast", "invariant", "portable"):
            usage_error(f"--modes: unknown mode '{m}' (fast, invariant, portable)")
    if not modes:
        usage_error("--modes is empty")
    if args.tokens < 1 or args.prompts < 1 or args.prompt_len < 1:
        usage_error("--tokens, --prompts and --prompt-len must be at least 1")
    if args.prompt_len + args.tokens - 1 > MAX_POSITIONS and not args.model:
        usage_error(f"--prompt-len + --tokens - 1 must be at most {MAX_POSITIONS} for the synthetic models")
    binary = args.clrepro
    if os.sep not in binary and shutil.which(binary):
        binary = shutil.which(binary)
    binary = os.path.abspath(binary)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        usage_error(f"--clrepro {args.clrepro}: not an executable file")
    if args.model:
        if not os.path.isfile(os.path.join(args.model, "config.json")):
            usage_error(f"--model {args.model}: no config.json there")
        args.model = os.path.abspath(args.model)

    try:
        import numpy as np
        import safetensors
        import torch
        import transformers
    except ImportError as e:
        usage_error(f"{e}; install the dependencies: python3 -m venv /work/venv-hf && "
                    "/work/venv-hf/bin/pip install -r scripts/hf-check-requirements.txt, "
                    "then run this script with /work/venv-hf/bin/python")
    transformers.logging.set_verbosity_error()
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
    except Exception:
        pass

    log = Log(args.log)
    log("hf-check.py: clrepro decode against Hugging Face transformers LlamaForCausalLM")
    log(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    log(f"command: {shlex.join([sys.executable] + sys.argv)}")
    log(f"python {platform.python_version()}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}, numpy {np.__version__}, safetensors {safetensors.__version__}, "
        f"torch threads {torch.get_num_threads()}, {platform.platform()}")
    try:
        ver = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
        version = (ver.stdout + ver.stderr).strip() + ("" if ver.returncode == 0 else f" (exit {ver.returncode})")
    except (OSError, subprocess.TimeoutExpired) as e:
        version = f"(--version failed: {e})"
    log(f"clrepro: {binary}")
    log(f"$ {shlex.join([binary, '--version'])}")
    log(f"  {version}")
    alone = alone_options(binary)
    log(f"$ {shlex.join([binary, 'decode', '--help'])}  (names {alone[0]}: decode passes {' '.join(alone)})")
    log(f"device: {args.device}; modes: {','.join(modes)}; prompts {args.prompts} x {args.prompt_len} tokens, "
        f"{args.tokens} generated; seed {args.seed}")
    log("reference: transformers LlamaForCausalLM in float32 (model.float(), eval, no_grad, eager attention) "
        "on the weights as stored (bf16/f16 widened exactly to float32), because clrepro computes in float32 "
        "from weights widened from their stored dtype; one forward pass per prompt over prompt + clrepro's "
        "tokens (teacher forced), and transformers' own greedy generate (KV cache, no EOS stop).")
    log(f"tolerances: logits max|diff| <= {args.rtol:g} * max|ref logit| + {args.atol:g}; an argmax flip or a "
        f"divergence from generate is accepted only where the reference's gap between the two tokens is "
        f"<= {args.flip_tol:g} * max|ref logit|")
    if not args.model:
        log(f"synthetic models: LlamaConfig + torch.manual_seed({args.seed} + 1000 * case), initializer_range "
            f"{INITIALIZER_RANGE} (default 0.02 gives nearly flat logits), RMSNorm weights 1 + {NORM_WEIGHT_STD} N(0,1), "
            f"max_position_embeddings {MAX_POSITIONS}, saved with save_pretrained(safe_serialization=True)")
    log("")

    work_tmp = None
    if args.work:
        work = os.path.abspath(args.work)
        os.makedirs(work, exist_ok=True)
    else:
        work_tmp = tempfile.TemporaryDirectory(prefix="hf-check-")
        work = work_tmp.name

    rows = []  # (case, mode, result dict or None, error)
    try:
        if args.model:
            cases = [(os.path.basename(os.path.normpath(args.model)) or "model", args.model)]
        else:
            cases = []
            for i, case in enumerate(SYNTHETIC_CASES):
                path = build_synthetic(case, i, args.seed, os.path.join(work, "models"), torch, transformers)
                cases.append((case["name"], path))

        rng = np.random.default_rng(args.seed)
        for case_name, model_dir in cases:
            config, shown, files, tensors, dtypes = checkpoint_facts(model_dir)
            log(f"== case {case_name}: {model_dir}")
            log(f"  config: {json.dumps(shown, sort_keys=True)}")
            log(f"  weights: {', '.join(files)}: {tensors} tensors, stored "
                + ", ".join(f"{k} x{v}" for k, v in sorted(dtypes.items())))
            vocab = int(config["vocab_size"])
            max_pos = int(config.get("max_position_embeddings", 0) or 0)
            S = args.prompt_len + args.tokens - 1
            if max_pos and S > max_pos:
                usage_error(f"prompt-len + tokens - 1 = {S} exceeds max_position_embeddings {max_pos}")
            prompts = rng.integers(0, vocab, size=(args.prompts, args.prompt_len)).astype(np.int64)
            case_work = os.path.join(work, "runs", case_name)
            os.makedirs(case_work, exist_ok=True)
            prompts_file = os.path.join(case_work, "prompts.txt")
            with open(prompts_file, "w", encoding="ascii") as f:
                for p in prompts:
                    f.write(" ".join(str(int(t)) for t in p) + "\n")
            log(f"  prompts ({prompts_file}): " + " | ".join(" ".join(map(str, p)) for p in prompts))

            t0 = time.monotonic()
            model = load_reference(model_dir, torch, transformers)
            gen = reference_generate(model, prompts, args.tokens, torch, transformers, np)
            log(f"  transformers loaded and generated in {time.monotonic() - t0:.1f} s")
            for p in range(args.prompts):
                log(f"  generate[{p}]: " + " ".join(map(str, gen[p])))

            for mode in modes:
                mode_work = os.path.join(case_work, mode)
                os.makedirs(mode_work, exist_ok=True)
                logits, toks, err = run_clrepro(log, binary, alone, model_dir, args.device, mode, prompts_file,
                                                args.tokens, mode_work, args.timeout, np)
                if err is None:
                    want_l = (args.prompts, S, vocab)
                    want_t = (args.prompts, args.tokens)
                    if tuple(logits.shape) != want_l:
                        err = f"logits-out has shape {tuple(logits.shape)}, expected {want_l} [P, prompt_len + T - 1, V]"
                    elif tuple(toks.shape) != want_t:
                        err = f"tokens-out has shape {tuple(toks.shape)}, expected {want_t} [P, T]"
                    elif toks.min() < 0 or toks.max() >= vocab:
                        err = f"tokens-out has ids outside [0, {vocab}): {int(toks.min())}..{int(toks.max())}"
                if err is not None:
                    log(f"  FAIL {case_name}/{mode}: {err}")
                    rows.append((case_name, mode, None, err))
                    continue
                seqs = np.concatenate([prompts, toks[:, :-1].astype(np.int64)], axis=1)
                t0 = time.monotonic()
                ref = reference_logits(model, seqs, torch, np)
                res = compare(ref, logits, toks, gen, args.prompt_len, args.rtol, args.atol, args.flip_tol, np)
                for p in range(args.prompts):
                    log(f"  clrepro[{p}]:  " + " ".join(map(str, toks[p])))
                log(f"  {case_name}/{mode}: max|diff| {res['max_abs']:.3g} at (prompt, row, id) {res['where']}, "
                    f"max|ref logit| {res['scale']:.4g}, relative {res['rel']:.3g}; teacher-forced argmax "
                    f"{res['agree']}/{args.prompts * args.tokens}, smallest ref top1-top2 margin "
                    f"{res['min_margin_rel']:.3g} relative; generate equal on {res['gen_equal']}/{args.prompts} "
                    f"prompts ({time.monotonic() - t0:.1f} s)")
                for note in res["notes"]:
                    log("  note: " + note)
                for fail in res["fail"][:20]:
                    log("  FAIL: " + fail)
                if len(res["fail"]) > 20:
                    log(f"  ... and {len(res['fail']) - 20} more failures")
                rows.append((case_name, mode, res, None))
            del model
            log("")
    finally:
        if work_tmp is not None:
            work_tmp.cleanup()

    # Compact table.
    head = ("case", "mode", "max|diff|", "max|L|", "rel", "tol", "tf-argmax", "flips ok/bad", "generate", "result")
    table = []
    any_fail = False
    for case_name, mode, res, err in rows:
        if res is None:
            table.append((case_name, mode, "-", "-", "-", "-", "-", "-", "-", "FAIL"))
            any_fail = True
            continue
        ok = not res["fail"]
        any_fail |= not ok
        first = [k for k in res["gen_first"] if k is not None]
        gen_text = "equal" if not first else f"div@{min(first)} ({len(first)}/{len(res['gen_first'])})"
        table.append((case_name, mode, f"{res['max_abs']:.2e}", f"{res['scale']:.3g}", f"{res['rel']:.2e}",
                      f"{res['tol']:.2e}", f"{res['agree']}/{args.prompts * args.tokens}",
                      f"{res['flips_ok']}/{res['flips_bad']}", gen_text, "PASS" if ok else "FAIL"))
    widths = [max(len(str(r[i])) for r in [head] + table) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    log(fmt(head))
    log(fmt(["-" * w for w in widths]))
    for r in table:
        log(fmt(r))
    log("")
    log(f"overall: {'FAIL' if any_fail else 'PASS'} ({sum(1 for r in table if r[-1] == 'PASS')}/{len(table)} PASS)")
    log.close()
    return 1 if any_fail else 0


if __name__ == "__main__":
    sys.exit(main())
