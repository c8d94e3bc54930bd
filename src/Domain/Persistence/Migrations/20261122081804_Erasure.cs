using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FeedbackHub.Domain.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Erasure : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "legal_hold",
                table: "applications",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "legal_hold_reason",
                table: "applications",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "legal_hold_set_at",
                table: "applications",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "legal_hold_set_by_id",
                table: "applications",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_webhook_events_occurred_at",
                table: "webhook_events",
                column: "occurred_at");

            migrationBuilder.CreateIndex(
                name: "ix_candidates_updated_at",
                table: "candidates",
                column: "updated_at",
                filter: "erased_at IS NULL");

            migrationBuilder.AddCheckConstraint(
                name: "ck_candidates_erased_holds_no_personal_data",
                table: "candidates",
                sql: "erased_at IS NULL OR (first_name = '' AND last_name IS NULL AND email = '' AND locale IS NULL)");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_webhook_events_occurred_at",
                table: "webhook_events");

            migrationBuilder.DropIndex(
                name: "ix_candidates_updated_at",
                table: "candidates");

            migrationBuilder.DropCheckConstraint(
                name: "ck_candidates_erased_holds_no_personal_data",
                table: "candidates");

            migrationBuilder.DropColumn(
                name: "legal_hold",
                table: "applications");

            migrationBuilder.DropColumn(
                name: "legal_hold_reason",
                table: "applications");

            migrationBuilder.DropColumn(
                name: "legal_hold_set_at",
                table: "applications");

            migrationBuilder.DropColumn(
                name: "legal_hold_set_by_id",
                table: "applications");
        }
    }
}
