#!/usr/bin/env python3
"""Records llama.cpp's token ids for datasets/tokenizer_strings.json, one file per model.

Usage: /work/venv-ref/bin/python scripts/record_tokenizer_reference.py [model ...]
(default: every model in MODELS whose GGUF exists under $CAST_HOME/models).

For each string: `ids` = tokenize(add_bos as the model does, special=True) and `ids_plain` =
the same with special=False (control tokens written in the text are plain text). Also a
small conversation rendered with the model's own `tokenizer.chat_template` (jinja2), when the
GGUF has one, with its ids. Output: Tests/CastModelsTests/References/tokenizer-<model>.json.
"""
import json, os, pathlib, sys

import llama_cpp

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b"]
CONVERSATIONS = {
    "no_system": [{"role": "user", "content": "What is 2+2?"},
                  {"role": "assistant", "content": "4"},
                  {"role": "user", "content": "And 3+3?"}],
    "with_system": [{"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "Name a colour."}],
}


# Gemma 3's chat template (google/gemma-3-*-it tokenizer_config.json, string contents only);
# the Gemma GGUF carries no tokenizer.chat_template. BOS is left to the tokenizer.
GEMMA3_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message['role'] == 'assistant' -%}{%- set role = 'model' -%}{%- else -%}{%- set role = message['role'] -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)


def cast_home():
    return pathlib.Path(os.environ.get("CAST_HOME") or pathlib.Path.home() / ".cache/cast")


def render_chat(template, messages, bos, eos):
    import jinja2
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                            bos_token=bos, eos_token=eos, tools=None)


def record(name, strings):
    path = cast_home() / "models" / f"{name}.gguf"
    if not path.exists():
        print(f"skip {name}: {path} missing")
        return
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    cases = []
    for s in strings:
        b = s.encode("utf-8")
        cases.append({"text": s,
                      "ids": llm.tokenize(b, add_bos=True, special=True),
                      "ids_plain": llm.tokenize(b, add_bos=True, special=False)})
    out = {"model": name, "llama_cpp_python": llama_cpp.__version__,
           "add_bos": True, "cases": cases, "chat": {}}
    template = llm.metadata.get("tokenizer.chat_template") or (GEMMA3_TEMPLATE if name.startswith("gemma3") else None)
    if template:
        eos = llm.detokenize([llm.token_eos()], special=True).decode()
        for key, messages in CONVERSATIONS.items():
            text = render_chat(template, messages, "", eos)
            out["chat"][key] = {"messages": messages, "text": text,
                                "ids": llm.tokenize(text.encode(), add_bos=True, special=True)}
    dest = ROOT / "Tests/CastModelsTests/References" / f"tokenizer-{name}.json"
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{name}: {len(cases)} strings, chat {sorted(out['chat'])} -> {dest.relative_to(ROOT)}")


def main():
    strings = json.loads((ROOT / "datasets/tokenizer_strings.json").read_text(encoding="utf-8"))
    for name in sys.argv[1:] or MODELS:
        record(name, strings)


if __name__ == "__main__":
    main()
