"""Reading YAML written by people we do not control (codebooks, indicator libraries): safe
types only, no aliases (a few hundred bytes of nested aliases expand to gigabytes), bounded
size and depth, and errors as one line that names the file and the line."""

from __future__ import annotations

from pathlib import Path

import yaml

MAX_YAML_BYTES = 20 * 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        return super().compose_node(parent, index)


def parse_yaml(text: str, name: str, error: type[Exception], *, shipped: bool = False):
    """The YAML document in `text`; any problem becomes `error` with a one-line message.

    `shipped`: a file of the package itself (no alias bombs to fear), read with libyaml's C
    parser where PyYAML has it: the shipped indicator library took seconds per run in Python."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise error(f"{name}: larger than {MAX_YAML_BYTES // (1024 * 1024)} MB; is this the right file?")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if shipped else _NoAliasLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader or a subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise error(f"{name}: not valid YAML{where} ({problem}); check indentation and quotes") from None
    except RecursionError:
        raise error(f"{name}: nested too deeply to be a codebook or an indicator library") from None


def read_yaml(path: Path, error: type[Exception]):
    from criteria_nlp.errors import InputError
    from criteria_nlp.io.decoding import decode_bytes

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    if size > MAX_YAML_BYTES:
        raise error(f"{path.name}: larger than {MAX_YAML_BYTES // (1024 * 1024)} MB; is this the right file?")
    try:
        text = decode_bytes(path.read_bytes(), path.name)[0]
    except InputError as exc:
        raise error(str(exc)) from None
    return parse_yaml(text, path.name, error)
