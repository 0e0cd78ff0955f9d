CREATE TABLE "code_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "code_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"person_id" text NOT NULL,
	"channel" text NOT NULL,
	"address_key" text NOT NULL,
	"event" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "code_log_person_idx" ON "code_log" USING btree ("person_id","at");--> statement-breakpoint
CREATE INDEX "code_log_address_idx" ON "code_log" USING btree ("address_key","at");--> statement-breakpoint
CREATE INDEX "code_log_at_idx" ON "code_log" USING btree ("at");