// Setup file of the jest project `postgres`: the suites build their registers on PostgreSQL (test/support/database.ts).
process.env.KRR_TEST_STORE = 'postgres';
