"""The Spark engine: one SparkSession per process, a Spark SQL dialect of the canonical forms,
readers for files and JDBC tables, and the keyed diff as a Spark join (docs/spark.md)."""
