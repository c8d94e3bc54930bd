using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace FeedbackHub.Domain.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class MerkleAuditLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<long>(
                name: "sequence",
                table: "audit_events",
                type: "bigint",
                nullable: true,
                oldClrType: typeof(long),
                oldType: "bigint");
            migrationBuilder.DropColumn(
                name: "audit_head_hash",
                table: "tenants");

            migrationBuilder.DropColumn(
                name: "audit_head_sequence",
                table: "tenants");

            migrationBuilder.DropColumn(
                name: "hash",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "previous_hash",
                table: "audit_events");


            migrationBuilder.AddColumn<byte[]>(
                name: "leaf_hash",
                table: "audit_events",
                type: "bytea",
                maxLength: 32,
                nullable: true);

            // Existing events keep their order: position follows the old chain's sequence, then new rows take the
            // identity's next values. They are re-sealed (sequence NULL) into each tenant's Merkle tree by the sealer.
            migrationBuilder.Sql("""
                ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
                ALTER TABLE audit_events ADD COLUMN position bigint;
                UPDATE audit_events SET position = o.position, sequence = NULL
                    FROM (SELECT id, row_number() OVER (ORDER BY tenant_id, sequence) AS position FROM audit_events) AS o
                    WHERE audit_events.id = o.id;
                ALTER TABLE audit_events ALTER COLUMN position SET NOT NULL;
                ALTER TABLE audit_events ALTER COLUMN position ADD GENERATED ALWAYS AS IDENTITY;
                SELECT setval(pg_get_serial_sequence('audit_events', 'position'), COALESCE((SELECT max(position) FROM audit_events), 0) + 1, false);
                ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
                """);

            migrationBuilder.CreateTable(
                name: "audit_signing_keys",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    public_key = table.Column<byte[]>(type: "bytea", nullable: false),
                    sealed_private_key = table.Column<byte[]>(type: "bytea", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_signing_keys", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "audit_tree_nodes",
                columns: table => new
                {
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    level = table.Column<int>(type: "integer", nullable: false),
                    index = table.Column<long>(type: "bigint", nullable: false),
                    hash = table.Column<byte[]>(type: "bytea", maxLength: 32, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_tree_nodes", x => new { x.tenant_id, x.level, x.index });
                    table.ForeignKey(
                        name: "fk_audit_tree_nodes_tenants_tenant_id",
                        column: x => x.tenant_id,
                        principalTable: "tenants",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "audit_checkpoints",
                columns: table => new
                {
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    tree_size = table.Column<long>(type: "bigint", nullable: false),
                    root_hash = table.Column<byte[]>(type: "bytea", maxLength: 32, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    key_id = table.Column<Guid>(type: "uuid", nullable: false),
                    signature = table.Column<byte[]>(type: "bytea", maxLength: 80, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_checkpoints", x => new { x.tenant_id, x.tree_size });
                    table.ForeignKey(
                        name: "fk_audit_checkpoints_audit_signing_keys_key_id",
                        column: x => x.key_id,
                        principalTable: "audit_signing_keys",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_audit_checkpoints_tenants_tenant_id",
                        column: x => x.tenant_id,
                        principalTable: "tenants",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_tenant_id_position",
                table: "audit_events",
                columns: new[] { "tenant_id", "position" });

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_unsealed",
                table: "audit_events",
                columns: new[] { "tenant_id", "position" },
                filter: "sequence IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_audit_checkpoints_key_id",
                table: "audit_checkpoints",
                column: "key_id");

            migrationBuilder.CreateIndex(
                name: "ix_audit_signing_keys_created_at",
                table: "audit_signing_keys",
                column: "created_at");

            // Events are written once and sealed once (sequence and leaf hash set, nothing else changed); tree nodes and
            // checkpoints are written once. The database refuses anything else, whatever the code does.
            migrationBuilder.Sql("""
                CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'UPDATE' AND OLD.sequence IS NULL AND OLD.leaf_hash IS NULL
                       AND NEW.sequence IS NOT NULL AND NEW.leaf_hash IS NOT NULL
                       AND NEW.id = OLD.id AND NEW.tenant_id = OLD.tenant_id AND NEW.position = OLD.position
                       AND NEW.occurred_at = OLD.occurred_at AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
                       AND NEW.actor_name = OLD.actor_name AND NEW.action = OLD.action AND NEW.subject_type = OLD.subject_type
                       AND NEW.subject_id IS NOT DISTINCT FROM OLD.subject_id AND NEW.data = OLD.data THEN
                        RETURN NEW;
                    END IF;
                    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
                END $$;
                CREATE FUNCTION audit_tree_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
                END $$;
                CREATE TRIGGER audit_tree_nodes_append_only BEFORE UPDATE OR DELETE ON audit_tree_nodes
                    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
                CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
                    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Going back loses the tree (the hash chain cannot be rebuilt here): only for development databases.
            migrationBuilder.Sql("""
                DROP TRIGGER audit_tree_nodes_append_only ON audit_tree_nodes;
                DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints;
                DROP FUNCTION audit_tree_append_only();
                CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
                END $$;
                """);
            migrationBuilder.DropTable(
                name: "audit_checkpoints");

            migrationBuilder.DropTable(
                name: "audit_tree_nodes");

            migrationBuilder.DropTable(
                name: "audit_signing_keys");

            migrationBuilder.DropIndex(
                name: "ix_audit_events_tenant_id_position",
                table: "audit_events");

            migrationBuilder.DropIndex(
                name: "ix_audit_events_unsealed",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "leaf_hash",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "position",
                table: "audit_events");

            migrationBuilder.AddColumn<byte[]>(
                name: "audit_head_hash",
                table: "tenants",
                type: "bytea",
                maxLength: 32,
                nullable: false,
                defaultValue: new byte[0]);

            migrationBuilder.AddColumn<long>(
                name: "audit_head_sequence",
                table: "tenants",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AlterColumn<long>(
                name: "sequence",
                table: "audit_events",
                type: "bigint",
                nullable: false,
                defaultValue: 0L,
                oldClrType: typeof(long),
                oldType: "bigint",
                oldNullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "hash",
                table: "audit_events",
                type: "bytea",
                maxLength: 32,
                nullable: false,
                defaultValue: new byte[0]);

            migrationBuilder.AddColumn<byte[]>(
                name: "previous_hash",
                table: "audit_events",
                type: "bytea",
                maxLength: 32,
                nullable: false,
                defaultValue: new byte[0]);
        }
    }
}
