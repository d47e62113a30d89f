-- Run once by the postgres image on an empty data volume
-- (mounted into /docker-entrypoint-initdb.d/ by infra/docker-compose.yml).
-- One database per service; the same names infra/local/localinfra.py creates.
CREATE DATABASE data_exchange;
CREATE DATABASE referral;
CREATE DATABASE procurement;
CREATE DATABASE cost_sharing;
CREATE DATABASE results_mutual_recognition;
