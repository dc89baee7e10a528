-- The vector extension of vectorsearch: an alias that holds no objects (see vector.control).
-- Version 0.8.6 is the pgvector whose SQL surface vectorsearch matches, which tools that read
-- pg_extension.extversion expect.
\echo Use "CREATE EXTENSION vector" to load this file. \quit
