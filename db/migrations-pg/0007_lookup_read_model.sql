CREATE TABLE "address_use" (
	"channel" text NOT NULL,
	"address_key" text NOT NULL,
	"active_people" integer NOT NULL,
	CONSTRAINT "address_use_channel_address_key_pk" PRIMARY KEY("channel","address_key")
);
--> statement-breakpoint
CREATE TABLE "person_lookup" (
	"id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"reserved" boolean NOT NULL,
	"reserved_at" timestamp with time zone,
	"reservation_updated_at" timestamp with time zone,
	"language" text,
	"language_updated_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL,
	"change_number" bigint NOT NULL,
	"email_address" text,
	"email_address_key" text,
	"email_updated_at" timestamp with time zone,
	"email_last_verified_at" timestamp with time zone,
	"email_last_validated_at" timestamp with time zone,
	"mobile_address" text,
	"mobile_address_key" text,
	"mobile_updated_at" timestamp with time zone,
	"mobile_last_verified_at" timestamp with time zone,
	"mobile_last_validated_at" timestamp with time zone,
	"mailbox_address" text,
	"provider_org_number" text,
	"certificate" text
);
--> statement-breakpoint
-- Derived from what is there already; from here on the triggers keep both in step with every write.
INSERT INTO address_use (channel, address_key, active_people)
SELECT cp.channel, cp.address_key, count(*) FROM contact_point cp JOIN person p ON p.id = cp.person_id
WHERE p.status = 'ACTIVE' GROUP BY cp.channel, cp.address_key;
--> statement-breakpoint
INSERT INTO person_lookup SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
    e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
    m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
    d.mailbox_address, d.provider_org_number, d.certificate
  FROM person p
    LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
    LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
    LEFT JOIN digital_post d ON d.person_id = p.id;
--> statement-breakpoint
ANALYZE person_lookup;
--> statement-breakpoint
ANALYZE address_use;
--> statement-breakpoint
CREATE FUNCTION person_lookup_refresh(pid text) RETURNS void LANGUAGE sql AS $$
  DELETE FROM person_lookup WHERE id = pid;
  INSERT INTO person_lookup SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
    e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
    m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
    d.mailbox_address, d.provider_org_number, d.certificate
  FROM person p
    LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
    LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
    LEFT JOIN digital_post d ON d.person_id = p.id
  WHERE p.id = pid;
$$;
--> statement-breakpoint
CREATE FUNCTION address_use_add(ch text, key text, n integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO address_use (channel, address_key, active_people) VALUES (ch, key, n)
  ON CONFLICT (channel, address_key) DO UPDATE SET active_people = address_use.active_people + excluded.active_people;
$$;
--> statement-breakpoint
-- A bulk load (the seed) sets krr.bulk_load = on for its transaction and derives the read model for its batch itself.
CREATE FUNCTION person_lookup_on_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('krr.bulk_load', true) = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    -- Before the row goes, while the person still counts as they are: the channels leave the
    -- counts through their own trigger, then the read model's row goes (the cascade finds nothing left).
    DELETE FROM contact_point WHERE person_id = OLD.id;
    DELETE FROM digital_post WHERE person_id = OLD.id;
    DELETE FROM person_lookup WHERE id = OLD.id;
    RETURN OLD;
  END IF;
  IF (NEW.status = 'ACTIVE') <> (TG_OP = 'UPDATE' AND OLD.status = 'ACTIVE') THEN
    PERFORM address_use_add(cp.channel, cp.address_key, CASE WHEN NEW.status = 'ACTIVE' THEN 1 ELSE -1 END)
    FROM contact_point cp WHERE cp.person_id = NEW.id ORDER BY cp.channel;
  END IF;
  PERFORM person_lookup_refresh(NEW.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION person_lookup_on_contact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE active boolean;
BEGIN
  IF current_setting('krr.bulk_load', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT status = 'ACTIVE' INTO active FROM person WHERE id = OLD.person_id;
    IF active AND (TG_OP = 'DELETE' OR OLD.channel <> NEW.channel OR OLD.address_key <> NEW.address_key) THEN
      PERFORM address_use_add(OLD.channel, OLD.address_key, -1);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT status = 'ACTIVE' INTO active FROM person WHERE id = NEW.person_id;
    IF active AND (TG_OP = 'INSERT' OR OLD.channel <> NEW.channel OR OLD.address_key <> NEW.address_key) THEN
      PERFORM address_use_add(NEW.channel, NEW.address_key, 1);
    END IF;
    PERFORM person_lookup_refresh(NEW.person_id);
  ELSE
    PERFORM person_lookup_refresh(OLD.person_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION person_lookup_on_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('krr.bulk_load', true) = 'on' THEN RETURN NULL; END IF;
  PERFORM person_lookup_refresh(CASE WHEN TG_OP = 'DELETE' THEN OLD.person_id ELSE NEW.person_id END);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER person_lookup_person AFTER INSERT OR UPDATE ON person FOR EACH ROW EXECUTE FUNCTION person_lookup_on_person();
--> statement-breakpoint
CREATE TRIGGER person_lookup_person_delete BEFORE DELETE ON person FOR EACH ROW EXECUTE FUNCTION person_lookup_on_person();
--> statement-breakpoint
CREATE TRIGGER person_lookup_contact AFTER INSERT OR UPDATE OR DELETE ON contact_point FOR EACH ROW EXECUTE FUNCTION person_lookup_on_contact();
--> statement-breakpoint
CREATE TRIGGER person_lookup_post AFTER INSERT OR UPDATE OR DELETE ON digital_post FOR EACH ROW EXECUTE FUNCTION person_lookup_on_post();
