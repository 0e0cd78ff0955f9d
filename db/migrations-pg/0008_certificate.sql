-- Certificates once per distinct value (db/schema.pg.ts, "certificate"): the mailbox and the
-- read model keep the id. Unique by the value's SHA-256: a B-tree entry holds at most about
-- 2.7 kB. The database's encoding never changes, so the digest of a value never does.
CREATE FUNCTION certificate_digest(value text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN sha256(convert_to(value, 'UTF8'));
--> statement-breakpoint
-- The read model's triggers stand aside while the rows get their ids (this transaction only;
-- person_lookup gets them just below).
SELECT set_config('krr.bulk_load', 'on', true);
--> statement-breakpoint
CREATE TABLE "certificate" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "certificate_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "certificate_digest_unique" ON "certificate" USING btree (certificate_digest("value"));
--> statement-breakpoint
INSERT INTO certificate (value) SELECT DISTINCT certificate FROM digital_post WHERE certificate IS NOT NULL ORDER BY 1;
--> statement-breakpoint
ALTER TABLE "digital_post" ADD COLUMN "certificate_id" integer;
--> statement-breakpoint
ALTER TABLE "person_lookup" ADD COLUMN "certificate_id" integer;
--> statement-breakpoint
-- The value set to null in the same update: DROP COLUMN does not rewrite rows, and the new row
-- versions should not carry the 700 bytes the column no longer shows. VACUUM gives the old ones back.
UPDATE digital_post d SET certificate_id = c.id, certificate = NULL FROM certificate c WHERE c.value = d.certificate;
--> statement-breakpoint
UPDATE person_lookup l SET certificate_id = c.id, certificate = NULL FROM certificate c WHERE c.value = l.certificate;
--> statement-breakpoint
ALTER TABLE "digital_post" ADD CONSTRAINT "digital_post_certificate_id_certificate_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificate"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "digital_post" DROP COLUMN "certificate";
--> statement-breakpoint
ALTER TABLE "person_lookup" DROP COLUMN "certificate";
--> statement-breakpoint
CREATE OR REPLACE FUNCTION person_lookup_refresh(pid text) RETURNS void LANGUAGE sql AS $$
  DELETE FROM person_lookup WHERE id = pid;
  INSERT INTO person_lookup SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
    e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
    m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
    d.mailbox_address, d.provider_org_number, d.certificate_id
  FROM person p
    LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
    LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
    LEFT JOIN digital_post d ON d.person_id = p.id
  WHERE p.id = pid;
$$;
--> statement-breakpoint
SELECT set_config('krr.bulk_load', 'off', true);
