#!/usr/bin/env python3
"""The llama.cpp side of `cast bench models`: times llama-cpp-python on a GGUF file.

Run it with the reference venv's python (scripts/reference-venv.sh). Two modes:

  bench_llamacpp.py --model M.gguf --tokens 1,2,3,...   one pass of every measurement,
                                                         printed as one JSON object
  bench_llamacpp.py --serve                              JSON commands on stdin, one JSON
                                                         answer per line on stdout

`cast bench models` uses --serve so that it can alternate our runs with llama.cpp's (drift
in the machine's load then hits both alike). Commands:
  {"cmd": "load", "model": PATH, "threads": 2, "context": 1024}  -> {"seconds": s}
  {"cmd": "prefill", "tokens": [...]}                 -> {"seconds": s}  (fresh context)
  {"cmd": "decode", "prompt": [...], "tokens": [...]} -> {"seconds": s}  (prompt untimed,
                                                          then one token per decode call)
  {"cmd": "rss"}                                      -> {"peak_rss_bytes": n}  (VmHWM)
  {"cmd": "features"}                                 -> {"features": "AVX2 FMA ..."}  (what
                                                          this llama.cpp build runs: its
                                                          system info's flags set to 1)
  {"cmd": "quit"}
Token ids come from cast's tokenizer, so both sides process exactly the same tokens.
"""
import argparse
import json
import sys
import time

import llama_cpp


class Peer:
    def __init__(self):
        self.llm = None

    def load(self, model, threads=2, context=1024, batch=512):
        self.llm = None  # free the previous model before loading again
        start = time.perf_counter()
        self.llm = llama_cpp.Llama(model_path=model, n_ctx=context, n_batch=batch, n_ubatch=batch,
                                   n_threads=threads, n_threads_batch=threads, verbose=False)
        return {"seconds": time.perf_counter() - start}

    def prefill(self, tokens):
        self.llm.reset()
        start = time.perf_counter()
        self.llm.eval(tokens)
        return {"seconds": time.perf_counter() - start}

    def decode(self, prompt, tokens):
        self.llm.reset()
        self.llm.eval(prompt)
        start = time.perf_counter()
        for token in tokens:
            self.llm.eval([token])
        return {"seconds": time.perf_counter() - start}

    @staticmethod
    def rss():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return {"peak_rss_bytes": int(line.split()[1]) * 1024}
        return {"peak_rss_bytes": 0}


def features():
    """The CPU features this llama.cpp build was compiled for, e.g. "AVX AVX2 FMA F16C"."""
    info = llama_cpp.llama_print_system_info().decode()
    flags = [part.split("=")[0].strip() for part in info.replace("CPU :", "").split("|") if part.strip().endswith("= 1")]
    return " ".join(flag for flag in flags if flag.startswith(("AVX", "FMA", "F16C", "AMX")))


def serve():
    peer = Peer()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            cmd = request.get("cmd")
            if cmd == "quit":
                break
            if cmd == "load":
                answer = peer.load(request["model"], request.get("threads", 2), request.get("context", 1024))
            elif cmd == "prefill":
                answer = peer.prefill(request["tokens"])
            elif cmd == "decode":
                answer = peer.decode(request["prompt"], request["tokens"])
            elif cmd == "rss":
                answer = peer.rss()
            elif cmd == "features":
                answer = {"features": features()}
            else:
                answer = {"error": f"unknown command {cmd!r}"}
        except Exception as error:  # report, keep serving
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


def once(model, tokens, threads):
    peer = Peer()
    result = {"model": model, "threads": threads, "load_seconds": peer.load(model, threads)["seconds"]}
    for count in (128, 512):
        if len(tokens) >= count:
            seconds = min(peer.prefill(tokens[:count])["seconds"] for _ in range(3))
            result[f"prefill_{count}_tok_per_s"] = count / seconds
    prompt, steps = tokens[:128], tokens[128:192]
    seconds = min(peer.decode(prompt, steps)["seconds"] for _ in range(3))
    result["decode_tok_per_s"] = len(steps) / seconds
    result.update(peer.rss())
    print(json.dumps(result, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help="answer JSON commands on stdin")
    parser.add_argument("--model", help="GGUF file (one-shot mode)")
    parser.add_argument("--tokens", help="comma-separated token ids, at least 192 (one-shot mode)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.serve:
        serve()
    elif args.model and args.tokens:
        tokens = [int(t) for t in args.tokens.split(",")]
        if len(tokens) < 192:
            sys.exit("--tokens needs at least 192 ids (128 prompt + 64 decoded)")
        once(args.model, tokens, args.threads)
    else:
        parser.error("give --serve, or --model and --tokens")


if __name__ == "__main__":
    main()
