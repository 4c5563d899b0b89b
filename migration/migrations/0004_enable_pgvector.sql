-- Custom SQL migration file, put your code below! --
-- pgvector must exist before 0005 declares the first vector(1536) column. IF NOT EXISTS keeps this
-- harmless on managed databases where an administrator pre-installed the extension.
CREATE EXTENSION IF NOT EXISTS vector;
