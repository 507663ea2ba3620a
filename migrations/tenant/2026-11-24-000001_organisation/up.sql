-- Tenant plane: the organisation itself. Runs inside one tenant's schema
-- (search_path set transaction-locally by tenancy); nothing is schema-qualified.

-- Departments form a tree: a hospital -> sites -> departments -> units.
CREATE TABLE departments (
    id         uuid PRIMARY KEY,
    parent_id  uuid REFERENCES departments (id) ON DELETE RESTRICT,
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind       text NOT NULL CHECK (kind IN ('site', 'department', 'unit', 'program')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX departments_parent ON departments (parent_id);
-- Sibling names are unique (case-insensitively) so a tree path reads unambiguously.
CREATE UNIQUE INDEX departments_sibling_name
    ON departments (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));

-- The people directory: providers, staff and clients of this organisation.
CREATE TABLE people (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('provider', 'staff', 'client')),
    given_name    text NOT NULL CHECK (length(btrim(given_name)) BETWEEN 1 AND 100),
    family_name   text NOT NULL CHECK (length(btrim(family_name)) BETWEEN 1 AND 100),
    email         text CHECK (email IS NULL OR length(email) <= 254),
    department_id uuid REFERENCES departments (id) ON DELETE RESTRICT,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX people_email ON people (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX people_department ON people (department_id);
CREATE INDEX people_kind_name ON people (kind, family_name, given_name, id);
