"""The jupyter_kernel_test conformance suite with every optional sample filled."""
import jupyter_kernel_test

SVG = "<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20'><circle cx='10' cy='10' r='8'/></svg>"


class CastKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "cast-test"
    language_name = "cast"
    file_extension = ".cast"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'warn("something went wrong")'

    completion_samples = [
        {"text": "tokeni", "matches": {"tokenize"}},
        {"text": "clear_", "matches": {"clear_output"}},
        {"text": "generate(m, max_tok", "matches": {"max_tokens: "}},
    ]
    complete_code_samples = ["1 + 2", "x = 3", 'print("hi")', "[1,\n 2]", "# a comment"]
    incomplete_code_samples = ["print(1,", "[1, 2,", 'x = """abc', "f(\n  a,"]
    invalid_code_samples = ["1 +* 2", '"abc', ")", "x = = 1"]

    code_generate_error = "undefined_name_xyz + 1"
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"ca" + "st"', "result": '"cast"'},
        {"code": "vars()", "mime": "text/html"},
        {"code": "plot([1, 4, 9, 16])", "mime": "image/svg+xml"},
    ]
    code_display_data = [
        {"code": "display(vars())", "mime": "text/html"},
        {"code": f'display(svg("{SVG}"))', "mime": "image/svg+xml"},
        {"code": "display(plot([1, 4, 9, 16]))", "mime": "image/svg+xml"},
    ]
    code_history_pattern = "6 * 7"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "print"
    code_clear_output = "clear_output()"
    code_page_something = "page(help(print))"


class CastIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "cast-test"
    support_iopub_welcome = True
