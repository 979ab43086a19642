-- The people directory the ERP keeps in step: employees, work groups and contacts.
CREATE TABLE employees (
    employee_id    TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    employee_email TEXT NOT NULL,
    user_email     TEXT NOT NULL,
    active         INTEGER NOT NULL,
    create_time    TEXT NOT NULL,
    update_time    TEXT NOT NULL
);

-- Every address of an employee (either field), lower-cased: the primary key keeps two employees
-- from sharing an address and finds the employee of a sender.
CREATE TABLE employee_addresses (
    address     TEXT PRIMARY KEY,
    employee_id TEXT NOT NULL REFERENCES employees(employee_id) ON DELETE CASCADE
);
CREATE INDEX employee_addresses_by_employee ON employee_addresses (employee_id);

CREATE TABLE work_groups (
    work_group_id TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL
);

-- Deleting an employee or a work group removes the membership with it.
CREATE TABLE work_group_members (
    work_group_id TEXT NOT NULL REFERENCES work_groups(work_group_id) ON DELETE CASCADE,
    employee_id   TEXT NOT NULL REFERENCES employees(employee_id) ON DELETE CASCADE,
    PRIMARY KEY (work_group_id, employee_id)
);
CREATE INDEX work_group_members_by_employee ON work_group_members (employee_id);

-- Contacts may share an address (a company's info@); email_key is the lower-cased address.
CREATE TABLE contacts (
    contact_id          TEXT PRIMARY KEY,
    display_name        TEXT NOT NULL,
    email               TEXT NOT NULL,
    email_key           TEXT NOT NULL,
    business_account_id TEXT NOT NULL,
    lead_id             TEXT NOT NULL,
    created_by_erpmail  INTEGER NOT NULL,
    create_time         TEXT NOT NULL,
    update_time         TEXT NOT NULL
);
CREATE INDEX contacts_by_email ON contacts (email_key, created_by_erpmail, contact_id)
    WHERE email_key != '';
CREATE INDEX contacts_created_by_erpmail ON contacts (contact_id) WHERE created_by_erpmail = 1;
