using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FeedbackHub.Domain.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class LostMessageRecovery : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "due_at",
                table: "invitations",
                type: "timestamp with time zone",
                nullable: false,
                defaultValueSql: "now()");

            // Existing invitations were due when they were created; new ones get their due time from the application.
            migrationBuilder.Sql("UPDATE invitations SET due_at = created_at; ALTER TABLE invitations ALTER COLUMN due_at DROP DEFAULT;");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_next_attempt_at",
                table: "webhook_deliveries",
                column: "next_attempt_at",
                filter: "status = 'Pending'");

            migrationBuilder.CreateIndex(
                name: "ix_invitations_due_at",
                table: "invitations",
                column: "due_at",
                filter: "status = 'Queued'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_webhook_deliveries_next_attempt_at",
                table: "webhook_deliveries");

            migrationBuilder.DropIndex(
                name: "ix_invitations_due_at",
                table: "invitations");

            migrationBuilder.DropColumn(
                name: "due_at",
                table: "invitations");
        }
    }
}
