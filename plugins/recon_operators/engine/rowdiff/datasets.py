"""Dataset sides of a row diff: each streams its rows, as canonical text, into a DuckDB table.

Only bulk paths, no Python object per cell: Postgres sends ``COPY (SELECT ...) TO STDOUT`` CSV
(through ``psql`` when installed), MariaDB tab-separated rows with QUOTE()d text (through the
``mariadb`` client when installed, else one line per row from an unbuffered cursor), both into
a spill file DuckDB then loads in parallel; files are scanned by DuckDB itself (CSV/Parquet,
local or S3 through Arrow datasets). Mongo documents are decoded by the driver anyway, so they
are normalised in Python batch by batch (``normalise.canonical_text``, as ``recon check`` does).
Every side applies the normalisation of ``dialects``/``normalise``, so values reach the join
already canonical and the two sides of a cross-engine diff agree on what "equal" means.
"""

from recon_operators.engine.rowdiff.base import Dataset
from recon_operators.engine.rowdiff.file_dataset import FileDataset
from recon_operators.engine.rowdiff.mongo_dataset import MongoDataset
from recon_operators.engine.rowdiff.sql_dataset import SqlDataset, csv_reader_sql

__all__ = ["Dataset", "FileDataset", "MongoDataset", "SqlDataset", "csv_reader_sql"]
