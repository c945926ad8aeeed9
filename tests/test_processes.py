"""A second process is started only where it cannot run the analyst's script a second time."""

import subprocess
import sys
import textwrap

import pytest


def _guarded_in(tmp_path, source: str) -> str:
    script = tmp_path / "analysis.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("guard", ['if __name__ == "__main__":', "if '__main__' == __name__:"])
def test_a_guarded_script_may_start_a_child(tmp_path, guard):
    source = f"""
        from criteria_nlp.processes import child_process, main_module_is_guarded

        def main():
            pool = child_process()
            print(main_module_is_guarded(), pool.submit(sum, [1, 2]).result())
            pool.shutdown()

        {guard}
            main()
        """
    assert _guarded_in(tmp_path, source) == "True 3"


def test_an_unguarded_script_is_never_run_again_in_a_child(tmp_path):
    # A spawned child imports the main module: this script's work would run twice.
    source = """
        from criteria_nlp.processes import child_process, main_module_is_guarded

        try:
            child_process()
            print(main_module_is_guarded(), "started")
        except RuntimeError as error:
            print(main_module_is_guarded(), "refused:", error)
        """
    line = _guarded_in(tmp_path, source)
    assert line.startswith("False refused:") and "__main__" in line
