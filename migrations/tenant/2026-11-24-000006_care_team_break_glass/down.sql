DROP TABLE break_glass_grants; DROP TABLE care_team;
