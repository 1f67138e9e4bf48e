-- One PostgreSQL server, one database per service (each service owns its
-- schema; `<service> migrate` creates the tables). Run once by the postgres
-- image on an empty data volume.
CREATE DATABASE bookstore_user;
CREATE DATABASE bookstore_token;
CREATE DATABASE bookstore_inventory;
CREATE DATABASE bookstore_order;
