/**
 * The OR11 order as the sandbox stores and serves it: the fields of `OR11_Response_200_Orders` in the Mirakl
 * seller OpenAPI that the sandbox fills. The spec marks no field nullable, so a value Mirakl documents as "null
 * when …" is left out (undefined) rather than sent as null.
 */
export interface MiraklAddress {
  civility?: string;
  firstname: string;
  lastname: string;
  street_1: string;
  street_2?: string;
  zip_code: string;
  city: string;
  state?: string;
  country: string;
  /** ISO 3166-1 alpha-3, as Mirakl sends it. */
  country_iso_code: string;
  phone?: string;
}

export interface MiraklCustomer {
  customer_id: string;
  civility?: string;
  firstname: string;
  lastname: string;
  locale?: string;
  billing_address: MiraklAddress;
  shipping_address: MiraklAddress;
}

export interface MiraklTax {
  code: string;
  rate: number;
  amount: number;
  tax_calculation_rule: 'PROPORTIONAL_TO_AMOUNT' | 'NONE';
}

export interface MiraklCommissionTax {
  code: string;
  rate: number;
  amount: number;
}

export interface MiraklRefund {
  id: string;
  order_refund_id: string;
  amount: number;
  shipping_amount: number;
  quantity: number;
  reason_code: string;
  refund_state: string;
  /** Deprecated twin of refund_state, still required by the schema. */
  state: string;
  commission_amount: number;
  commission_tax_amount: number;
  commission_taxes: { code: string; amount: number }[];
  commission_total_amount: number;
  taxes: { code: string; rate: number; amount: number }[];
  created_date: string;
  transaction_date?: string;
  transaction_number?: string;
}

export interface MiraklCancelation {
  id: string;
  amount: number;
  shipping_amount: number;
  quantity: number;
  reason_code: string;
  commission_amount: number;
  commission_taxes: { code: string; amount: number }[];
  commission_total_amount: number;
  taxes: { code: string; rate: number; amount: number }[];
  created_date: string;
}

export interface MiraklOrderLine {
  order_line_id: string;
  order_line_index: number;
  order_line_state: string;
  order_line_state_reason_code?: string;
  order_line_state_reason_label?: string;
  offer_id: number;
  offer_sku: string;
  offer_state_code: string;
  product_sku: string;
  product_shop_sku?: string;
  product_title: string;
  description: string;
  category_code: string;
  category_label: string;
  product_medias: { media_url: string; mime_type: string; type: string }[];
  quantity: number;
  price_unit: number;
  origin_unit_price: number;
  price: number;
  shipping_price: number;
  total_price: number;
  taxes: MiraklTax[];
  shipping_taxes: MiraklTax[];
  commission_fee: number;
  commission_rate_vat: number;
  commission_vat: number;
  commission_taxes: MiraklCommissionTax[];
  total_commission: number;
  can_refund: boolean;
  refunds: MiraklRefund[];
  cancelations: MiraklCancelation[];
  order_line_additional_fields: { code: string; type: string; value: string }[];
  created_date: string;
  last_updated_date: string;
  debited_date?: string;
  shipped_date?: string;
  received_date?: string;
}

export interface MiraklOrder {
  order_id: string;
  commercial_id: string;
  references: { order_reference_for_customer: string; order_reference_for_seller?: string };
  order_state: string;
  order_state_reason_code?: string;
  order_state_reason_label?: string;
  created_date: string;
  last_updated_date: string;
  acceptance_decision_date?: string;
  customer_debited_date?: string;
  shipping_deadline: string;
  delivery_date: { earliest: string; latest: string };
  transaction_date?: string;
  transaction_number?: string;
  leadtime_to_ship: number;
  channel?: { code: string; label: string };
  currency_iso_code: string;
  order_tax_mode: 'TAX_INCLUDED' | 'TAX_EXCLUDED';
  price: number;
  shipping_price: number;
  total_price: number;
  total_commission: number;
  payment_workflow: string;
  payment_type: string;
  /** Deprecated twin of payment_type, still required by the schema. */
  paymentType: string;
  customer_directly_pays_seller: boolean;
  can_cancel: boolean;
  can_shop_ship: boolean;
  has_incident: boolean;
  has_customer_message: boolean;
  has_invoice: boolean;
  fully_refunded: boolean;
  /** Gone once the operator anonymised the buyer. */
  customer_notification_email?: string;
  customer: MiraklCustomer;
  shipping_type_code: string;
  shipping_type_label: string;
  shipping_zone_code: string;
  shipping_zone_label: string;
  shipping_carrier_code?: string;
  shipping_company?: string;
  shipping_tracking?: string;
  shipping_tracking_url?: string;
  fulfillment: { center: { code: string } };
  order_additional_fields: { code: string; type: string; value: string }[];
  order_lines: MiraklOrderLine[];
}

/** An SH21 carrier as the marketplace lists it. */
export interface MiraklCarrier {
  code: string;
  label: string;
  standard_code?: string;
  tracking_url?: string;
}
