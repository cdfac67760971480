-- Stream one CSV extract into its stage table. Postgres' CSV parser handles quoted commas and
-- newlines and CRLF line ends; unquoted empty fields load as NULL, quoted "" as ''.
COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')
