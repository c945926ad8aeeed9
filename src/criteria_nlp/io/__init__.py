"""Reading and writing files: decoding, tables (CSV/TSV, XLSX, JSONL), the answers corpus,
and outputs that are atomic, formula-safe and locked against a second writer."""

from criteria_nlp.io.corpus import (
    OUTPUT_COLUMNS,
    ColumnMap,
    Corpus,
    file_checksum,
    read_answers,
    resolve_columns,
)
from criteria_nlp.io.decoding import decode_bytes, decode_text
from criteria_nlp.io.lock import outdir_lock
from criteria_nlp.io.outputs import (
    FORMULA_PREFIXES,
    escape_html,
    neutralise_cell,
    output_transaction,
    read_output_csv,
    unneutralise_cell,
    write_bytes_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
    write_xlsx_atomic,
)
from criteria_nlp.io.tables import (
    SUPPORTED_SUFFIXES,
    dedupe_columns,
    header_names,
    read_table,
)

__all__ = ['ColumnMap', 'Corpus', 'OUTPUT_COLUMNS', 'read_answers', 'resolve_columns', 'file_checksum', 'read_table', 'dedupe_columns', 'header_names', 'SUPPORTED_SUFFIXES', 'decode_bytes', 'decode_text', 'FORMULA_PREFIXES', 'neutralise_cell', 'unneutralise_cell', 'read_output_csv', 'escape_html', 'output_transaction', 'write_bytes_atomic', 'write_text_atomic', 'write_json_atomic', 'write_csv_atomic', 'write_xlsx_atomic', 'outdir_lock']
