-- Mini Recon 1: transformation rows of one batch counted per value of one column.
-- {table} is "<schema>"."<dataset>", {key} the quoted group column and {counted} either *
-- or DISTINCT "msisdn" (subscribers per add-on code); all three come from the Python side's
-- fixed measure list, never from config. The batch is the MSISDN block (equal length).
SELECT {key} AS group_key, count({counted})::bigint AS n
  FROM {table}
 WHERE msisdn BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND length(msisdn) = %(width)s
 GROUP BY 1;
