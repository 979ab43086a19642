-- Email assignment maps. The map (description and ordered rules) is kept as one JSON document:
-- the server reads a map whole and never queries inside its rules.
CREATE TABLE assignment_maps (
    assignment_map_id TEXT PRIMARY KEY,
    definition        TEXT NOT NULL,
    create_time       TEXT NOT NULL,
    update_time       TEXT NOT NULL
);
