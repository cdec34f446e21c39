-- A small neighbourhood as the first release (migrations 0001 to 0015) stored it, for the upgrade
-- test (tests/upgrade.rs). Written in the SQL both backends accept, without explicit ids, so that
-- PostgreSQL's sequences stay in step as they would in a real database of that release.
INSERT INTO places (level, code, name, imd_decile) VALUES ('lsoa', 'E01012345', 'Riverside 001A', 3);
INSERT INTO organisations (name, kind, ods_code) VALUES ('Riverside Surgery', 'gp_practice', 'Y00001');
INSERT INTO organisations (name, kind, ods_code) VALUES ('Riverside PCN', 'pcn', 'U00001');
INSERT INTO organisations (name, kind) VALUES ('Riverside Community Trust', 'vcse');
INSERT INTO households (postcode, lsoa_code) VALUES ('LS1 4AP', 'E01012345');
INSERT INTO people (nhs_number, given_name, family_name, date_of_birth, sex, postcode, lsoa_code, imd_decile, registered_practice_id, household_id)
VALUES ('9990000018', 'Ada', 'Example', '1948-03-02', 'female', 'LS1 4AP', 'E01012345', 3,
        (SELECT id FROM organisations WHERE ods_code = 'Y00001'), (SELECT MIN(id) FROM households));
INSERT INTO people (nhs_number, given_name, family_name, date_of_birth, sex, registered_practice_id, date_of_death)
VALUES ('9990000026', 'Bert', 'Sample', '1931-11-20', 'male', (SELECT id FROM organisations WHERE ods_code = 'Y00001'), '2024-01-05');
INSERT INTO users (username, display_name, password_hash, active, created_at)
VALUES ('worker@example.org', 'Wendy Worker', '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ', 1, '2024-01-02T09:00:00Z');
INSERT INTO users (username, display_name, password_hash, active, created_at)
VALUES ('gp@example.org', 'Dr Gita Practitioner', '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ', 1, '2024-01-02T09:00:00Z');
INSERT INTO memberships (user_id, organisation_id, role)
VALUES ((SELECT id FROM users WHERE username = 'worker@example.org'), (SELECT id FROM organisations WHERE name = 'Riverside Community Trust'), 'worker');
INSERT INTO memberships (user_id, organisation_id, role)
VALUES ((SELECT id FROM users WHERE username = 'gp@example.org'), (SELECT id FROM organisations WHERE ods_code = 'Y00001'), 'referrer');
INSERT INTO staff (user_id, name, role, employer_id, funding)
VALUES ((SELECT id FROM users WHERE username = 'worker@example.org'), 'Wendy Worker', 'link_worker', (SELECT id FROM organisations WHERE name = 'Riverside Community Trust'), 'arrs');
INSERT INTO services (name, provider_id, description)
VALUES ('Riverside social prescribing', (SELECT id FROM organisations WHERE name = 'Riverside Community Trust'), 'Link workers for people whose health is affected by what happens in their lives.');
INSERT INTO casework_services (service_id, kind, review_interval_days, worker_cap)
VALUES ((SELECT id FROM services WHERE name = 'Riverside social prescribing'), 'social_prescribing', 42, 30);
INSERT INTO care_team (person_id, user_id, organisation_id, started_on)
VALUES ((SELECT id FROM people WHERE nhs_number = '9990000018'), (SELECT id FROM users WHERE username = 'worker@example.org'),
        (SELECT id FROM organisations WHERE name = 'Riverside Community Trust'), '2024-02-01');
INSERT INTO casework_referrals (service_id, person_id, given_name, family_name, date_of_birth, nhs_number, practice_id, contact, source, route,
    reason, needs, concerns, need_domains, risk_flags, urgency, consent_share_detail, referrer_user_id, referrer_name, referrer_contact,
    received_at, received_on, status, triaged_by, triaged_on, triage_reason)
VALUES ((SELECT id FROM services WHERE name = 'Riverside social prescribing'), (SELECT id FROM people WHERE nhs_number = '9990000018'),
    'Ada', 'Example', '1948-03-02', '9990000018', (SELECT id FROM organisations WHERE ods_code = 'Y00001'), '0113 496 0000', 'gp', 'app',
    'Lonely since her husband died; missing appointments.', 'Company and help with bills.', '', 'social,finances', '', 'soon', 1,
    (SELECT id FROM users WHERE username = 'gp@example.org'), 'Dr Gita Practitioner', 'gp@example.org',
    '2024-01-30T10:15:00Z', '2024-01-30', 'accepted', (SELECT id FROM users WHERE username = 'worker@example.org'), '2024-02-01', 'Meets the criteria.');
INSERT INTO casework_cases (person_id, service_id, referral_id, status, opened_on, episode_started_on, intensity, review_due_on,
    what_matters, priorities, escalation, plan_version)
VALUES ((SELECT id FROM people WHERE nhs_number = '9990000018'), (SELECT id FROM services WHERE name = 'Riverside social prescribing'),
    (SELECT MIN(id) FROM casework_referrals), 'open', '2024-02-01', '2024-02-01', 'low', '2024-03-14',
    'Getting out to the lunch club again.', 'Money worries first.', 'Call her daughter if she does not answer twice.', 1);
UPDATE casework_referrals SET case_id = (SELECT MIN(id) FROM casework_cases);
INSERT INTO casework_workers (case_id, user_id, organisation_id, role, started_on)
VALUES ((SELECT MIN(id) FROM casework_cases), (SELECT id FROM users WHERE username = 'worker@example.org'),
        (SELECT id FROM organisations WHERE name = 'Riverside Community Trust'), 'lead', '2024-02-01');
INSERT INTO casework_contacts (case_id, contact_type, contact_on, minutes, present, note, recorded_by, recorded_at)
VALUES ((SELECT MIN(id) FROM casework_cases), 'home_visit', '2024-02-05', 60, 'Ada', 'First visit: talked about the lunch club and her bills.',
        (SELECT id FROM users WHERE username = 'worker@example.org'), '2024-02-05T15:00:00Z');
INSERT INTO casework_goals (case_id, text, target_on, progress)
VALUES ((SELECT MIN(id) FROM casework_cases), 'Go to the lunch club every week', '2024-04-01', 50);
INSERT INTO casework_actions (case_id, text, owner, owner_user_id, due_on)
VALUES ((SELECT MIN(id) FROM casework_cases), 'Book a benefits check', 'Wendy Worker', (SELECT id FROM users WHERE username = 'worker@example.org'), '2024-02-20');
INSERT INTO casework_events (case_id, at, on_date, user_id, kind, summary)
VALUES ((SELECT MIN(id) FROM casework_cases), '2024-02-01T09:30:00Z', '2024-02-01', (SELECT id FROM users WHERE username = 'worker@example.org'), 'opened', 'Case opened');
INSERT INTO audit_log (at, user_id, action, entity, entity_id, reason)
VALUES ('2024-02-05T15:00:01Z', (SELECT id FROM users WHERE username = 'worker@example.org'), 'read', 'person',
        (SELECT id FROM people WHERE nhs_number = '9990000018'), 'care_team_member');
INSERT INTO audit_log (at, user_id, action, entity, entity_id, reason)
VALUES ('2024-02-05T15:00:02Z', (SELECT id FROM users WHERE username = 'worker@example.org'), 'create', 'casework_contact',
        (SELECT MIN(id) FROM casework_contacts), 'contact recorded');
