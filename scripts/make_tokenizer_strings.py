#!/usr/bin/env python3
"""Writes datasets/tokenizer_strings.json: the strings every tokenizer is checked on.

Hand-picked cases for each pre-tokenizer rule (contractions, letters, digits, punctuation
runs, whitespace runs, line breaks), scripts outside Latin, emoji, special tokens, plus
seeded random mixes of those pieces. Deterministic: rerunning gives the same file.
"""
import json, random, sys, pathlib

HAND = [
    "", " ", "  ", "\n", "\t", "\r\n", "a", "A", "Hello", "Hello world", " Hello world", "Hello  world",
    "Hello world!", "hello, world.", "The quick brown fox jumps over the lazy dog.",
    "I'm here", "it's", "don't", "They're", "we've", "I'd", "you'll", "He'S IT'LL", "'s 't 're 've 'm 'll 'd",
    "DON'TS AND DO'S", "'Sand 'Tis 'REally 'LLama 'VEry 'Dear 'Mom", "it'sy bitsy", "we'veGot", "rock 'n' roll", "O'Neil's", "''", "'", "' s", "can't won't shouldn't",
    "0", "7", "42", "123", "1234", "12345", "3.14159", "1,000,000", "-273.15", "2024-01-31", "10:45pm",
    "9999999999999999999999", "+1 (555) 010-9999", "0x7FFF", "1e-10", "v1.2.3", "x2 + y2 = z2",
    "Call 911 now", "room 101b", "²³ ½ ⅓ Ⅻ", "٣٤٥ ١٢٣", "१२३",
    "   leading spaces", "trailing spaces   ", "multiple     spaces", "tab\tseparated\tvalues",
    "\t\tdouble tab", "line1\nline2", "line1\n\nline2", "line1\r\nline2", "\n\n\n", " \n ", "a \n b",
    "end with newline\n", "  \n\n  x", "x\n\n\n\ny", "\u00a0non-breaking\u00a0space", "ideographic\u3000space",
    "em\u2003space", "zero\u200bwidth", "a\u2028b", "\x0b vertical \x0c form",
    "!!!", "???", "...", "!?!?", "—", "--", "->", "=>", "<=>", "::", "#include <stdio.h>", "@user",
    "email@example.com", "https://example.com/path?q=1&r=2#frag", "C:\\Windows\\System32", "~/.bashrc",
    "(parentheses) [brackets] {braces}", "\"quoted\" 'single'", "“curly” ‘quotes’", "«guillemets»",
    "50% off!!!", "$100.00", "€20", "£5", "¥1000", "a+b=c", "x^2", "a_b_c", "snake_case_name", "camelCaseName",
    "PascalCase", "SCREAMING_SNAKE", "kebab-case-word", "...and then", "Wait... what?!",
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "if x == 1:\n    print('one')\nelse:\n    print(\"other\")", "SELECT * FROM users WHERE id = 42;",
    "<div class=\"x\">Hi</div>", "<table><tr><td>1</td></tr></table>", "{\"key\": [1, 2, 3], \"b\": null}",
    "import numpy as np\nnp.zeros((3, 4))", "let x: [Int] = [1, 2, 3]", "fn main() { println!(\"hi\"); }",
    "    indented code", "\tindented with tab", "// comment\n/* block */", "#!/bin/bash\necho $HOME",
    "café", "naïve", "résumé", "Ångström", "Crème brûlée", "ñandú", "Straße", "Øresund", "Łódź", "İstanbul",
    "e\u0301 (combining acute)", "space then mark: \u0301 and  \u0308x", "Ελληνικά", "Русский язык", "Українська", "עברית", "العربية", "مرحبا بالعالم",
    "שלום עולם", "हिन्दी", "বাংলা", "தமிழ்", "ไทย", "한국어", "안녕하세요", "日本語", "こんにちは世界", "カタカナ",
    "中文", "你好，世界！", "我爱北京天安门", "漢字とかな混じり文", "Tiếng Việt", "ქართული", "Հայերեն",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "I ❤️ NY", "emoji😀inside", "😀😃😄😁", "🤖 robots 🤖",
    "✓ ✗ ★ ☆ → ← ↑ ↓", "∀x∈ℝ: x²≥0", "∑_{i=1}^{n} i", "α β γ δ", "©®™", "°C", "±", "×÷",
    "\U0001F600\U0001F600", "\U00010348 gothic", "\U0001D400 math bold", "\ue000 private use", "\u0378 unassigned",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHello<|im_end|>\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<start_of_turn>", "<end_of_turn>", "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos>", "<eos>", "<pad>", "text<|im_end|>more", "<|im_start|><|im_end|>", "<|im_start|> spaced <|im_end|>",
    "<tool_call>", "</tool_call>", "<repo_name>", "<unused0>", "<mask>", "[multimodal]", "<s>", "</s>",
    "<|fake_token|>", "<|im_start", "im_end|>", "<<|im_start|>>",
    "a" * 200, "ab" * 100, " " * 50, "\n" * 40, "\t" * 33, "-" * 80, "=" * 64, "1" * 64, "😀" * 20,
    "Supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "The year 1984 had 366 days.", "Version 2.0.1-beta+build.7", "ISBN 978-3-16-148410-0",
    "MiXeD CaSe WoRdS", "ALL CAPS SENTENCE.", "a.b.c.d", "a,b,c", "a;b", "a|b", "tab\t\tend",
    "Hello\u00adsoft-hyphen", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ", "ǅ titlecase",
    "Mr. Smith's cat's toy", "The 3rd of May, 2021, at 4:30 p.m.", "e.g., i.e., etc.",
    "Wikipedia is a free online encyclopedia, created and edited by volunteers around the world.",
    "Photosynthesis converts light energy into chemical energy stored in glucose (C6H12O6).",
    "  Mixed   \t whitespace \n\n and   text  ",
]

PIECES = ["the", " cat", "'s", " 42", "123456", "...", "!!", "  ", "\n", "\t", "é", "中文", "😀", " CAPS",
          "snake_case", "(", ")", "{", "}", "<|im_end|>", "<end_of_turn>", "٣", "½", " - ", "x", "'re", "\r\n"]

def wiki_extracts(count=20):
    """Every 500th lead section of the wiki corpus (CC BY-SA 4.0), when it is fetched."""
    import os
    home = pathlib.Path(os.environ.get("CAST_HOME") or pathlib.Path.home() / ".cache/cast")
    path = home / "corpus/wiki.json"
    if not path.exists():
        sys.exit(f"{path} missing: fetch the wiki corpus first")
    data = json.loads(path.read_text(encoding="utf-8"))
    titles = sorted(data)
    return [data[t]["extract"] for t in titles[::500][:count]]


def main():
    rng = random.Random(20250101)
    strings = list(HAND) + wiki_extracts()
    while len(strings) < 280:
        strings.append("".join(rng.choice(PIECES) for _ in range(rng.randint(2, 12))))
    seen, unique = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "datasets/tokenizer_strings.json")
    out.write_text(json.dumps(unique, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(unique)} strings -> {out}")

if __name__ == "__main__":
    main()
