-- `tix search`: GIN indexes on the text search vectors of subjects and message bodies.
-- They are expression indexes, so PostgreSQL keeps them in step with every write by itself (no
-- trigger needed). The 'simple' configuration (no stemming, no stop words) serves English and
-- Spanish alike, like SQLite's unicode61 tokenizer; queries must use the same expression.
CREATE INDEX tickets_subject_search ON tickets USING gin (to_tsvector('simple', subject));
CREATE INDEX messages_body_search ON messages USING gin (to_tsvector('simple', body));
