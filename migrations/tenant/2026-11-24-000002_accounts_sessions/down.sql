DROP TABLE sessions; DROP TABLE one_time_tokens; DROP TABLE role_grants; DROP TABLE accounts;
